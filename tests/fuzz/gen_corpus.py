#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed inputs of the fuzz targets into corpus/<target>/.

The seeds are small, well-formed inputs in each target's layout (see the
comment at the top of fuzz_<target>.c), so the fuzzer starts from real
chains instead of having to discover the ring format.  Their output is
checked in; rerun this after changing a target's input layout.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
FL_EVENT_IDX, FL_INDIRECT = 0x01, 0x02

# Ring layout shared by the virtqueue seeds (guest-physical addresses).
DESC, AVAIL, USED, TABLE, DATA = 0x000, 0x200, 0x300, 0x400, 0x8000


class Ram:
    def __init__(self):
        self.b = bytearray()

    def put(self, gpa, data):
        if len(self.b) < gpa + len(data):
            self.b.extend(bytes(gpa + len(data) - len(self.b)))
        self.b[gpa:gpa + len(data)] = data

    def desc(self, table, i, addr, length, flags=0, nxt=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))


def virtqueue_seed(size_log2, flags, heads, fill, last_avail=0, used_idx=0,
                   npops=8, rearm=0x55):
    size = 1 << size_log2
    ram = Ram()
    fill(ram)
    for n, head in enumerate(heads):
        ram.put(AVAIL + 4 + 2 * ((last_avail + n) % size),
                struct.pack("<H", head))
    ram.put(AVAIL, struct.pack("<HH", 0, (last_avail + len(heads)) & 0xffff))
    ram.put(AVAIL + 4 + 2 * size, struct.pack("<H", 0))   # used_event
    ram.put(USED, struct.pack("<HH", 0, used_idx))
    ram.put(USED + 4 + 8 * size, struct.pack("<H", 0))    # avail_event
    hdr = struct.pack("<BHHHHBHHBB", size_log2, 0, DESC, AVAIL, USED, flags,
                      last_avail, used_idx, npops, rearm)
    assert len(hdr) == 16
    return hdr + bytes(ram.b)


def blk_request(ram):
    # virtio-blk read: header (16, readable), data (512), status (1).
    ram.desc(DESC, 0, DATA, 16, F_NEXT, 1)
    ram.desc(DESC, 1, DATA + 0x100, 512, F_NEXT | F_WRITE, 2)
    ram.desc(DESC, 2, DATA + 0x400, 1, F_WRITE)


def indirect_request(ram):
    ram.desc(TABLE, 0, DATA, 16, F_NEXT, 1)
    ram.desc(TABLE, 1, DATA + 0x100, 4096, F_NEXT, 2)
    ram.desc(TABLE, 2, DATA + 0x2000, 1, F_WRITE)
    ram.desc(DESC, 3, TABLE, 3 * 16, F_INDIRECT)
    ram.desc(DESC, 4, DATA + 0x3000, 64, F_NEXT, 5)
    ram.desc(DESC, 5, TABLE + 0x40, 16, F_INDIRECT)
    ram.desc(TABLE + 0x40, 0, DATA + 0x4000, 8, F_WRITE)


def many_single(ram):
    for i in range(8):
        ram.desc(DESC, i, DATA + 0x100 * i, 0x40 + i,
                 F_WRITE if i & 1 else 0)


def main():
    seeds = {
        "blk-read": virtqueue_seed(3, 0, [0], blk_request),
        "indirect-event-idx": virtqueue_seed(
            4, FL_EVENT_IDX | FL_INDIRECT, [3, 4], indirect_request),
        "wrap": virtqueue_seed(3, FL_EVENT_IDX, [7, 6, 5, 4], many_single,
                               last_avail=0xfffe, used_idx=0xfffe),
        "full-ring": virtqueue_seed(3, 0, list(range(8)), many_single,
                                    rearm=0xff),
    }
    out = os.path.join(HERE, "corpus", "virtqueue")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
