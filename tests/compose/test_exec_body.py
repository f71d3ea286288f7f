"""The one `POST /containers/{id}/exec` body builder."""

from __future__ import annotations

from compose.exec_body import exec_body


def test_attached_and_detached() -> None:
    assert exec_body(("ls", "-l")) == {"AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
                                       "Tty": False, "Privileged": False, "Cmd": ["ls", "-l"]}
    body = exec_body(["sh"], env=["A=1"], interactive=True, tty=True, user="1", workdir="/w", privileged=True,
                     console_size=(24, 80))
    assert body == {"AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": True, "Env": ["A=1"],
                    "User": "1", "WorkingDir": "/w", "Privileged": True, "Cmd": ["sh"], "ConsoleSize": [24, 80]}
    detached = exec_body(["sh"], interactive=True, detach=True)
    assert (detached["AttachStdin"], detached["AttachStdout"], detached["AttachStderr"]) == (False, False, False)
