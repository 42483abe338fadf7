"""Soak: tasks under injected faults while the server is SIGKILLed at random moments.

The sandbox (the upstream) runs in a thread of this process and outlives every server. The
server is the real ``python -m imagegen_mcp`` over stdio, spawned through the MCP SDK's client;
``sh -c 'echo $$ > pidfile; exec ...'`` gives us its pid. "Agents" (concurrent workers, one per
logical request) behave as a careful agent would: ``generate_image`` with a ``client_request_id``,
then ``get_task`` until the task is terminal; when the server dies under them they reconnect to
the next incarnation and repeat the same call (same ``client_request_id``: never a new task).

Faults: a share of task GETs answer 503 or drop the connection; a share of result downloads are
truncated, slow (chunked with pauses), dropped or 503. The create is not faulted (the issue
asks for faults on GETs and downloads); a kill may still land in the middle of a create.

Checked at the end, from the store, the output directory and the sandbox's own records:

* lost: images the upstream produced for a task it charged for, with no identical file saved;
* duplicated: image files beyond one per (task, index), and tasks created twice upstream for
  one logical request (``creates sent twice``);
* open: tasks still submitting, pending or processing;
* leftovers: ``.partial`` download files.

A kill that lands between a create reaching the upstream and its answer being recorded leaves
the task ``unknown`` (the upstream has no idempotency key or task list, so nobody can tell):
those are counted separately as ``ambiguous``; a charged one also counts as lost.

``config`` holds the knobs, ``run`` the agents and the kills, ``check`` the final accounting.
``python -m bench.soak`` runs the full soak; ``tests/service/test_soak.py`` a short variant.
"""
