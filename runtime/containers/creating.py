"""`POST /containers/create`: a name, an id, a bundle on disk and a record, or nothing at all.

The request is translated (create.py) into the record and the bundle the
supervisor will run, volumes are made and filled from the image, and the
record is written durably, all in a worker thread; any failure takes back
the name, the volumes and the bundle.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from runtime.containers import links, networking, volumes_from
from runtime.containers.create import HostFacts, ImageInfo, translate, write_bundle
from runtime.containers.records import Record, new_id, normalize_name
from runtime.errors import EngineError, bad_request

if TYPE_CHECKING:
    from runtime.containers.stores import Stores
    from runtime.containers.table import ContainerTable


async def create(table: ContainerTable, stores: Stores, body: Mapping[str, Any], name: str = "") -> dict[str, Any]:
    image_ref = str(body.get("Image") or "")
    if not image_ref:
        raise bad_request("no image given: Config.Image is required")
    image = await anyio.to_thread.run_sync(image_info, stores, image_ref)
    records = table.records
    name = normalize_name(name) if name else records.generate_name()
    container_id = new_id(records.ids())
    records.reserve(name, container_id)
    bundle = records.bundle_dir(container_id)
    try:
        host = await anyio.to_thread.run_sync(HostFacts.read)
        raw_hc = body.get("HostConfig") or {}
        links.check_targets(raw_hc.get("Links") or (), str(raw_hc.get("NetworkMode") or ""),
                            lambda ref: records.find(ref) is not None)
        net_plan = networking.plan(table, body, name, container_id)
        inherited = volumes_from.inherited((body.get("HostConfig") or {}).get("VolumesFrom") or (),
                                           lambda ref: volumes_from.lender(records.get, ref).mounts)

        warnings: list[str] = []

        def work() -> Record:
            volumes = stores.volumes()
            created = translate(container_id, name, body, image, stores.prefix, bundle, host,
                                volumes.for_container(container_id), networks=net_plan, inherited=inherited)
            write_bundle(created)
            for point in created.record.mounts:
                if point.get("Type") == "volume" and "nocopy" not in str(point.get("Mode") or "").split(","):
                    volumes.populate_from_layers(point["Name"], image.layers, point["Destination"])
            created.record.anonymous_volumes = created.anonymous_volumes
            warnings.extend(created.warnings)
            records.write(created.record)  # durable, and off the event loop
            return created.record

        record = await anyio.to_thread.run_sync(work)
        records.add(record, written=True)
    except BaseException:
        records.release(name, container_id)
        await anyio.to_thread.run_sync(lambda: stores.volumes().release_container(container_id, True))
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(bundle, ignore_errors=True))
        raise
    table.live(record)
    table.emit(record, "create")
    return {"Id": container_id, "Warnings": warnings}


def image_info(stores: Stores, ref: str) -> ImageInfo:
    from runtime.images.errors import ImageNotFound

    store = stores.images()
    try:
        doc = store.inspect(ref)
        layers = store.rootfs_layers(doc["Id"])
    except ImageNotFound as exc:
        raise EngineError(404, str(exc)) from None
    return ImageInfo(doc["Id"], ref, doc.get("Config") or {}, tuple(layers))
