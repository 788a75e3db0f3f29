"""Private checks shared by the graph modules (generic ones live in neurodyn._validation)."""

from __future__ import annotations

import torch

from .._validation import check_allocation


def check_device_allocation(n_bytes: float, name: str, what: str, device: torch.device) -> None:
    """Refuse, before allocating, ``n_bytes`` on ``device`` when it has less memory free.

    On a GPU the limit is 80 % of the free device memory (``torch.cuda.mem_get_info``);
    elsewhere :func:`neurodyn._validation.check_allocation` compares with the host's.
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if n_bytes > 0.8 * free:
            raise MemoryError(f"{name} would need {n_bytes / 2**30:.3g} GiB of {device} memory for the "
                              f"{what}, more than the {free / 2**30:.3g} GiB free; choose a smaller size")
        return
    check_allocation(n_bytes, name, itemsize=1, what=what)
