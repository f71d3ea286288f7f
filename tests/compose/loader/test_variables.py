"""`config --variables`' extraction, case by case as compose-go's ExtractVariables."""

from __future__ import annotations

from compose.loader.variables import Variable, extract_variables


def test_forms_and_nesting() -> None:
    model = {"services": {"web": {
        "image": "${IMAGE:-busybox}:${TAG-latest}",
        "command": ["echo", "$PLAIN", "$$ESCAPED", "${REQ:?must be set}", "${OPT?}"],
        "environment": {"A": "${ALT:+yes}", "B": "${OUTER:-${INNER:-x}}", "C": "${PRESENT+${P2}}"},
        "labels": {"$NOT_A_KEY_VAR": "v"},
    }}}
    found = extract_variables(model)
    assert list(found) == sorted(found)
    assert found["IMAGE"] == Variable("IMAGE", default="busybox")
    assert found["TAG"] == Variable("TAG", default="latest")
    assert found["PLAIN"] == Variable("PLAIN")
    assert found["REQ"] == Variable("REQ", required=True) and found["OPT"].required
    assert found["ALT"] == Variable("ALT", presence="yes")
    assert found["OUTER"] == Variable("OUTER", default="${INNER:-x}") and found["INNER"].default == "x"
    assert found["PRESENT"].presence == "${P2}" and "P2" in found
    assert "ESCAPED" not in found and "NOT_A_KEY_VAR" not in found


def test_no_variables_and_odd_text() -> None:
    assert extract_variables({"a": ["$", "x$", "${", "${}", "$1", 3, None]}) == {}
