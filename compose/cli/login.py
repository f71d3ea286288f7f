"""`pycompose login` and `logout`: the docker CLI's, over `POST /auth` and the docker CLI's credential store.

login checks the credentials with the engine (`POST /auth`, which asks the
registry), then keeps them where the docker CLI would: in the credential
helper config.json names (`credHelpers` for that registry, else
`credsStore`), else base64 in config.json, with docker's warning. An
identity token the engine hands back is kept instead of the password.
Without -u/-p it first tries what is already kept, then asks on a terminal.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from compose.cli.project_cmd import call
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.registry.config_file import Credentials

OTHER_ACCOUNT = ("\n Info -> To login with a different account, run 'pycompose logout' followed by "
                 "'pycompose login'\n\n\n")  # docker 28's words, our command's name
PASSWORD_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
UNENCRYPTED = ("\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
               "Configure a credential helper to remove this warning. See\n"
               "https://docs.docker.com/go/credential-store/\n\n")  # docker 28's blank lines around it


def read_password_stdin(text: str) -> str:
    """docker trims one trailing newline (and its carriage return) from --password-stdin."""
    return text.removesuffix("\n").removesuffix("\r")


async def authenticate(client: EngineClient, creds: Credentials) -> str:
    """POST /auth; the identity token the engine returned, if any ('' otherwise)."""
    from compose.client import EngineError

    body = {"username": creds.username, "password": creds.password, "serveraddress": creds.server}
    if creds.identity_token:
        body["identitytoken"] = creds.identity_token
    try:
        answer: Any = await (await client.post("/auth", json=body)).json()
    except EngineError as exc:
        if exc.status == 0:
            raise
        raise ComposeError(f"Error response from daemon: {exc.message}") from None
    return str((answer or {}).get("IdentityToken") or "")


def _prompt_credentials(key: str, username: str | None, password: str | None) -> tuple[str, str]:
    if not sys.stdin.isatty():
        raise ComposeError("Error: Cannot perform an interactive login from a non TTY device")
    if not username:
        username = click.prompt("Username", prompt_suffix=": ", err=False).strip()
    if not username:
        raise ComposeError("Error: Non-null Username Required")
    if password is None:
        password = click.prompt("Password", hide_input=True, prompt_suffix=": ", err=False)
    if not password:
        raise ComposeError("Error: Password Required")
    return username, password


@click.command("login")
@click.argument("server", required=False)
@click.option("-u", "--username", default=None, help="Username.")
@click.option("-p", "--password", default=None, help="Password (insecure: use --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
def login(server: str | None, username: str | None, password: str | None, password_stdin: bool) -> None:
    """Log in to a registry (Docker Hub when no SERVER is given)."""
    from compose.registry.config_file import Credentials
    from compose.registry.credentials import CredentialStore
    from compose.registry.reference import server_key

    if password is not None:
        print(PASSWORD_WARNING, file=sys.stderr)
        if password_stdin:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
    if password_stdin:
        if not username:
            raise click.UsageError("Must provide --username with --password-stdin")
        password = read_password_stdin(sys.stdin.read())
    key = server_key(server)
    store = CredentialStore.from_environ(os.environ)

    if not username and password is None:
        kept = store.get(key)
        if not kept.anonymous:
            who = f" [Username: {kept.username}]" if kept.username else ""
            print(f"Authenticating with existing credentials...{who}", file=sys.stderr, flush=True)
            if who:
                sys.stderr.write(OTHER_ACCOUNT)
            try:
                call(lambda client: authenticate(client, kept))
            except ComposeError as exc:
                print(f"Login did not succeed, error: {exc}", file=sys.stderr)
            else:
                print("Login Succeeded")
                return
    if not username or password is None:
        username, password = _prompt_credentials(key, username, password)
    creds = Credentials(key, username, password)
    token = call(lambda client: authenticate(client, creds))
    if token:
        creds = Credentials(key, username, "", token)
    try:
        helper = store.store(creds)
    except ComposeError as exc:
        raise ComposeError(f"Error saving credentials: {exc}") from None
    if helper is None:
        sys.stderr.write(UNENCRYPTED.format(path=store.path))
        sys.stderr.flush()
    print("Login Succeeded")


@click.command("logout")
@click.argument("server", required=False)
def logout(server: str | None) -> None:
    """Log out from a registry (Docker Hub when no SERVER is given)."""
    from compose.registry.credentials import CredentialStore
    from compose.registry.reference import INDEX_SERVER, hostname

    store = CredentialStore.from_environ(os.environ)
    if not server:
        keys, shown = [INDEX_SERVER], INDEX_SERVER
    else:
        shown = hostname(server)
        keys = list(dict.fromkeys([server, shown, f"http://{shown}", f"https://{shown}"]))
    print(f"Removing login credentials for {shown}", flush=True)
    errors = {}
    for key in keys:
        try:
            store.erase(key)
        except ComposeError as exc:
            errors[key] = str(exc)
    if len(errors) == len(keys):
        print("WARNING: could not erase credentials:", file=sys.stderr)
        for key, message in errors.items():
            print(f"{key}: {message}", file=sys.stderr)
