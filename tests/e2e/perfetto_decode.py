# SPDX-License-Identifier: GPL-2.0-only
"""A decoder of the subset of Perfetto's trace protobuf contrace writes
(TracePacket, TrackDescriptor, TrackEvent, InternedData), written from the
wire format, to check contrace's encoder independently of it."""
import collections


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """[(field number, value)]: ints for varints and fixed64, bytes for the rest."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
            assert i <= len(b), "a length runs past its message"
        else:
            raise AssertionError(f"wire type {wire} is not one contrace writes")
        out.append((num, v))
    return out


def multi(b):
    d = collections.defaultdict(list)
    for k, v in fields(b):
        d[k].append(v)
    return d


class Trace:
    """tracks: {uuid: {...}}; events: [{ts, type, track, name, flow, flow_end}]."""

    def __init__(self, path):
        data = open(path, "rb").read()
        self.names, self.tracks, self.events = {}, {}, []
        self.first_flags = None
        for num, pkt in fields(data):
            assert num == 1, "a Trace holds packets only"
            p = multi(pkt)
            assert p[10] == [1], "every packet on sequence 1"
            if self.first_flags is None:
                self.first_flags = p[13]
            for interned in p.get(12, []):
                for k, v in fields(interned):
                    assert k == 2
                    en = dict(fields(v))
                    assert en[1] not in self.names, "a name interned twice"
                    self.names[en[1]] = en[2].decode()
            for td in p.get(60, []):
                self.add_track(multi(td))
            for te in p.get(11, []):
                self.add_event(p[8][0], multi(te))

    def add_track(self, d):
        t = {"uuid": d[1][0], "parent": d[5][0] if 5 in d else 0,
             "name": d[2][0].decode() if 2 in d else None}
        t["counter"] = 8 in d
        if 3 in d:
            pd = multi(d[3][0])
            t["pid"], t["process_name"] = pd[1][0], pd[6][0].decode()
        if 4 in d:
            th = multi(d[4][0])
            t["pid"], t["tid"], t["thread_name"] = th[1][0], th[2][0], th[5][0].decode()
        assert t["uuid"] not in self.tracks, "a track described twice"
        self.tracks[t["uuid"]] = t

    def add_event(self, ts, d):
        name = self.names[d[10][0]] if 10 in d else None
        self.events.append({"ts": ts, "type": d[9][0], "track": d[11][0], "name": name,
                            "flow": d.get(47, []), "flow_end": d.get(48, []),
                            "value": d[30][0] if 30 in d else None})

    def slices(self):
        """{track: [(begin, end, name)]}; checks that slices on a track do not overlap."""
        open_, out = {}, collections.defaultdict(list)
        for e in sorted(self.events, key=lambda e: (e["ts"], e["type"] != 2)):
            if e["type"] == 1:
                assert e["track"] not in open_, f"slices overlap on track {e['track']:#x}"
                open_[e["track"]] = e
            elif e["type"] == 2:
                b = open_.pop(e["track"])
                out[e["track"]].append((b["ts"], e["ts"], b["name"]))
        assert not open_, "a slice never ends"
        return out

    def counter(self, pid, name):
        """The samples (ts, value) of a process's counter track of that name, in time order."""
        (proc,) = [u for u, t in self.tracks.items() if t.get("process_name") and t["pid"] == pid]
        (track,) = [u for u, t in self.tracks.items()
                    if t["counter"] and t["parent"] == proc and t["name"] == name]
        samples = [(e["ts"], e["value"]) for e in self.events
                   if e["track"] == track and e["type"] == 4]
        assert samples == sorted(samples, key=lambda s: s[0]), "counter samples in time order"
        return samples

    def thread_tracks(self):
        return {u: t for u, t in self.tracks.items() if "tid" in t}

    def children(self, uuid):
        return [u for u, t in self.tracks.items() if t["parent"] == uuid]
