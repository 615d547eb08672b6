"""Write plans of `floe_icechunk_tool apply`, and the same plans executed by icechunk-python.

A plan (the tool's input) is JSON:
  {"create": bool, "config": {...}, "authorize": [prefix...], "continue_on_error": bool,
   "operations": [{"op": "commit", "branch", "message", "metadata", "amend", "rebase", "changes": [...]},
                  {"op": "branch_create"|"branch_reset", "name", "snapshot"}, {"op": "branch_delete", "name"},
                  {"op": "tag_create", "name", "snapshot"}, {"op": "tag_delete", "name"}]}
Changes: group/array {"path", "zarr_json"}, {"kind": "delete_node", "path"},
  {"kind": "chunk", "path", "index", "data_hex"}, {"kind": "virtual", "path", "index", "location", "offset",
  "length", "etag"?, "last_modified"?}, {"kind": "delete_chunk", "path", "index"}.
Snapshot references: "@last" (the previous commit of the plan), "branch:NAME", or an id.

`apply_plan_python` is the reference semantics: the suite runs a plan through floe's tool and through
icechunk-python and compares the two repositories, so expectations never rest on guesses about
icechunk's behaviour.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Iterable, Sequence

import icechunk as ic
import numpy as np

from conftest import Servers, chunk_key, ic_credentials, ic_delete, ic_delete_dir, ic_set, ic_storage, meta_key


# ---- building plans ---------------------------------------------------------------------------------


def s3_container(prefix: str, endpoint: str, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "url_prefix": prefix,
        "store": {"s3_compatible": {"region": region, "endpoint_url": endpoint, "anonymous": False,
                                    "allow_http": True, "force_path_style": True}},
    }


def group(path: str, zarr_json: dict) -> dict:
    return {"kind": "group", "path": path, "zarr_json": zarr_json}


def array(path: str, zarr_json: dict) -> dict:
    return {"kind": "array", "path": path, "zarr_json": zarr_json}


def chunk(path: str, index: Sequence[int], data: bytes) -> dict:
    return {"kind": "chunk", "path": path, "index": list(index), "data_hex": data.hex()}


def virtual(path: str, index: Sequence[int], location: str, offset: int, length: int,
            etag: str | None = None, last_modified: int | None = None) -> dict:
    change: dict[str, Any] = {"kind": "virtual", "path": path, "index": list(index), "location": location,
                              "offset": offset, "length": length}
    if etag is not None:
        change["etag"] = etag
    if last_modified is not None:
        change["last_modified"] = last_modified
    return change


def delete_chunk(path: str, index: Sequence[int]) -> dict:
    return {"kind": "delete_chunk", "path": path, "index": list(index)}


def delete_node(path: str) -> dict:
    return {"kind": "delete_node", "path": path}


def commit(message: str, changes: list[dict], branch: str = "main", metadata: dict | None = None,
           amend: bool = False, rebase: bool = True) -> dict:
    return {"op": "commit", "branch": branch, "message": message, "metadata": metadata or {},
            "amend": amend, "rebase": rebase, "changes": changes}


# ---- executing plans with icechunk-python ---------------------------------------------------------------


def ic_config(config: dict[str, Any]) -> ic.RepositoryConfig:
    cfg = ic.RepositoryConfig.default()
    if config.get("inline_chunk_threshold_bytes") is not None:
        cfg.inline_chunk_threshold_bytes = config["inline_chunk_threshold_bytes"]
    for c in config.get("virtual_chunk_containers", []):
        (kind, opts), = c["store"].items()
        assert kind in ("s3_compatible", "s3"), kind
        store = ic.s3_store(region=opts.get("region"), endpoint_url=opts.get("endpoint_url"),
                            allow_http=opts.get("allow_http", False), anonymous=opts.get("anonymous", False),
                            s3_compatible=kind == "s3_compatible", force_path_style=opts.get("force_path_style", False))
        cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(c["url_prefix"], store))
    return cfg


def _resolve(repo: ic.Repository, ref: str, last: str | None) -> str:
    if ref == "@last":
        assert last is not None, "@last before any commit"
        return last
    if ref.startswith("branch:"):
        return repo.lookup_branch(ref[len("branch:"):])
    if ref.startswith("tag:"):
        return repo.lookup_tag(ref[len("tag:"):])
    return ref


def _apply_change(store: ic.IcechunkStore, change: dict[str, Any]) -> None:
    kind = change["kind"]
    path = change["path"]
    if kind in ("group", "array"):
        ic_set(store, meta_key(path), json.dumps(change["zarr_json"], separators=(",", ":")).encode())
    elif kind == "delete_node":
        ic_delete_dir(store, path.strip("/"))
    elif kind == "chunk":
        ic_set(store, chunk_key(path, change["index"]), bytes.fromhex(change["data_hex"]))
    elif kind == "delete_chunk":
        ic_delete(store, chunk_key(path, change["index"]))
    elif kind == "virtual":
        checksum: Any = None
        if change.get("etag") is not None:
            checksum = change["etag"]
        elif change.get("last_modified") is not None:
            checksum = datetime.fromtimestamp(change["last_modified"], UTC)
        store.set_virtual_ref(chunk_key(path, change["index"]), change["location"], offset=change["offset"],
                              length=change["length"], checksum=checksum)
    else:
        raise ValueError(f"unknown change kind {kind}")


def run_op_python(repo: ic.Repository, op: dict[str, Any], last: str | None) -> dict[str, Any]:
    """One plan operation with icechunk-python; the tool's output line for it."""
    name = op["op"]
    try:
        if name == "commit":
            session = repo.writable_session(op.get("branch", "main"))
            for change in op["changes"]:
                _apply_change(session.store, change)
            metadata = op.get("metadata") or None
            if op.get("amend"):
                snap = session.amend(op["message"], metadata=metadata)
            else:
                solver = ic.ConflictDetector() if op.get("rebase", True) else None
                snap = session.commit(op["message"], metadata=metadata, rebase_with=solver)
            return {"op": name, "snapshot": snap}
        if name == "branch_create":
            repo.create_branch(op["name"], _resolve(repo, op["snapshot"], last))
        elif name == "branch_reset":
            repo.reset_branch(op["name"], _resolve(repo, op["snapshot"], last))
        elif name == "branch_delete":
            repo.delete_branch(op["name"])
        elif name == "tag_create":
            repo.create_tag(op["name"], _resolve(repo, op["snapshot"], last))
        elif name == "tag_delete":
            repo.delete_tag(op["name"])
        else:
            raise ValueError(f"unknown op {name}")
        return {"op": name}
    except ic.ConflictError as e:  # RebaseFailedError is a ConflictError
        return {"op": name, "error": "conflict", "message": str(e)}
    except ic.IcechunkError as e:
        return {"op": name, "error": "failed", "message": str(e)}


def apply_plan_python(url: str, plan: dict[str, Any], servers: Servers | None) -> list[dict[str, Any]]:
    storage = ic_storage(url, servers)
    creds = ic_credentials(servers, plan.get("authorize", [])) or None
    if plan.get("create"):
        repo = ic.Repository.create(storage, config=ic_config(plan.get("config", {})),
                                    authorize_virtual_chunk_access=creds)
    else:
        repo = ic.Repository.open(storage, authorize_virtual_chunk_access=creds)
    out: list[dict[str, Any]] = []
    last = None
    for op in plan["operations"]:
        line = run_op_python(repo, op, last)
        out.append(line)
        if "snapshot" in line:
            last = line["snapshot"]
        if "error" in line and not plan.get("continue_on_error"):
            break
    return out


def commit_ids(plan: dict[str, Any], lines: Iterable[dict[str, Any]]) -> list[str | None]:
    """The snapshot id of each commit op of `plan` (None where it failed)."""
    ids = []
    for op, line in zip(plan["operations"], lines):
        if op["op"] == "commit":
            ids.append(line.get("snapshot"))
    return ids


# ---- expected values --------------------------------------------------------------------------------------


def decode_array(meta: dict[str, Any], chunks: dict[tuple[int, ...], bytes]) -> np.ndarray:
    """Decodes an array stored with the bytes codec only (what these tests write) from its chunk bytes."""
    codecs = meta["codecs"]
    assert [c["name"] for c in codecs] == ["bytes"], codecs
    dtype = np.dtype(meta["data_type"]).newbyteorder("<" if codecs[0].get("configuration", {}).get("endian", "little")
                                                      == "little" else ">")
    shape = meta["shape"]
    chunk_shape = meta["chunk_grid"]["configuration"]["chunk_shape"]
    fill = meta["fill_value"]
    fill = float(fill) if isinstance(fill, str) else fill
    out = np.full(shape, fill, dtype=dtype)
    for index, data in chunks.items():
        block = np.frombuffer(data, dtype=dtype).reshape(chunk_shape)
        sl = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunk_shape, shape))
        out[sl] = block[tuple(slice(0, s.stop - s.start) for s in sl)]
    return out
