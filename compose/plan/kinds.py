"""The kinds of plan operation: one per Engine API call the plan makes, and the wait."""

import enum


class Kind(enum.StrEnum):
    CREATE_NETWORK = "create_network"
    REMOVE_NETWORK = "remove_network"
    CONNECT_NETWORK = "connect_network"
    DISCONNECT_NETWORK = "disconnect_network"
    CREATE_VOLUME = "create_volume"
    REMOVE_VOLUME = "remove_volume"
    CREATE_CONTAINER = "create_container"
    START_CONTAINER = "start_container"
    STOP_CONTAINER = "stop_container"
    RESTART_CONTAINER = "restart_container"
    KILL_CONTAINER = "kill_container"
    PAUSE_CONTAINER = "pause_container"
    UNPAUSE_CONTAINER = "unpause_container"
    REMOVE_CONTAINER = "remove_container"
    RENAME_CONTAINER = "rename_container"
    COPY_TO_CONTAINER = "copy_to_container"
    WAIT_CONDITION = "wait_condition"
