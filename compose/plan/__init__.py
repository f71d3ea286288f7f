"""The reconciler: desired state (the project) against observed state (the engine) gives a Plan.

A Plan is a DAG of operations, each one Engine API call or one wait on a
`depends_on` condition; `compose.scheduler` runs it. Deciding happens here
and only here.
"""

from compose.plan.bodies import config_hashes, container_body, container_labels
from compose.plan.lifecycle import (
    DownOptions,
    plan_down,
    plan_kill,
    plan_pause,
    plan_restart,
    plan_rm,
    plan_start,
    plan_stop,
)
from compose.plan.operations import Handle, Kind, Operation, Payload, Plan, Ref, Resource, resolve
from compose.plan.resources import network_body, volume_body
from compose.plan.up import plan_up
from compose.plan.up_options import UpFacts, UpOptions

__all__ = [
    "DownOptions",
    "Handle",
    "Kind",
    "Operation",
    "Payload",
    "Plan",
    "Ref",
    "Resource",
    "UpFacts",
    "UpOptions",
    "config_hashes",
    "container_body",
    "container_labels",
    "network_body",
    "plan_down",
    "plan_kill",
    "plan_pause",
    "plan_restart",
    "plan_rm",
    "plan_start",
    "plan_stop",
    "plan_up",
    "resolve",
    "volume_body",
]
