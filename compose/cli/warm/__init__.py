"""The CLI server: a process that has the compose layer imported, forking one child per command line.

Starting `pycompose up` costs more in imports (click, yaml, anyio and
asyncio, h11, networkx: ~250 ms on these machines) than in work. The
first command line runs in its own process as always and leaves a server
behind; later ones send their argv, environment, working directory and
standard streams (the file descriptors themselves, over a UNIX socket) to
that server, which forks a child that runs the command with them and
reports its exit. The client forwards signals to the child, so Ctrl-C,
`kill` and exit codes behave as with a process of its own; a client that
dies takes its child along.

A server serves one interpreter and one version of the code: the socket's
name carries a key made from both, so an upgrade or an edit starts a new
server and the old one ends after its idle time. `PYCOMPOSE_CLI_SERVER=0`
turns it off; `PYCOMPOSE_CLI_DIR` says where the sockets live.
"""
