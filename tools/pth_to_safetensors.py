#!/usr/bin/env python3
"""Writes a PyTorch state dict (.pth) as .safetensors, names and layouts unchanged.

    python3 tools/pth_to_safetensors.py DeepLab_resnet_pretrained_init-f81d91e8.pth deeplab.safetensors
    deno task convert --from caffe --input deeplab.safetensors --output g.safetensors --classes 19

Needs torch (Debian: apt-get install python3-torch). Reads a plain state dict,
or a checkpoint holding one under "state_dict" or "model"; writes float32
tensors (integer ones, such as batch norm's num_batches_tracked, are left
out). The safetensors format is written here directly (an 8-byte header
length, a JSON header, the raw little-endian bytes), so the safetensors
package is not needed.
"""
import json
import struct
import sys

import torch


def state_dict_of(obj):
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
        return obj
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    raise SystemExit("pth_to_safetensors: the file holds no state dict")


def read_safetensors(path):
    """The float32 tensors of a safetensors file, by name (the inverse of write_safetensors)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    base, out = 8 + length, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: '{name}' is {entry['dtype']}, not F32")
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(raw[base + begin:base + end]), dtype=torch.float32)
        out[name] = values.reshape(entry["shape"]).clone()
    return out


def write_safetensors(tensors, path):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for chunk in chunks:
            out.write(chunk)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    state = state_dict_of(torch.load(sys.argv[1], map_location="cpu"))
    floats = {k: v for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()}
    write_safetensors(floats, sys.argv[2])
    print(f"{sys.argv[2]}: {len(floats)} tensors ({len(state) - len(floats)} non-float left out)")


if __name__ == "__main__":
    main()
