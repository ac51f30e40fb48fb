#!/usr/bin/env python3
"""moto's server, with Route53's rules for CREATE and DELETE: takes the same arguments as moto_server.

moto's ChangeResourceRecordSets differs from Route53's on CREATE. A CREATE of a name and type that
already exist succeeds (the zone then lists two record sets of that name and type), and a CREATE
identical to one made earlier in the zone is refused as "already exists", although that record was
deleted, whenever any record set sorts after its name (moto's replay check lists the zone from the
name onward and takes any result for the record). Route53 refuses a CREATE exactly when a record set
of that name, type and set identifier exists, and this server does the same. moto's DELETE takes
any values that were ever written at the name; Route53 deletes only when the TTL and values given
are the record set's current ones (so an update sent as a DELETE of the values read with a CREATE
of the new ones is refused when the record changed since the read), and this server does the same.
All else is moto's.

Checked against moto 5.2.1. Drop this file, and start moto_server itself, once moto refuses as
Route53 does: tests/moto_route53.rs pins moto's two differences and fails when they are gone.
"""

import sys
import threading

from moto.route53 import models
from moto.route53.exceptions import ResourceRecordAlreadyExists, Route53ClientError
from moto.server import main

CHECKED = ("5.2.1",)


def key(record_set):
    """What Route53 tells record sets apart by: name (any case, with or without the final dot),
    type and set identifier."""
    name = record_set["Name"].rstrip(".").lower()
    return name, record_set["Type"], record_set.get("SetIdentifier")


class DeleteRefused(Route53ClientError):
    """Route53's InvalidChangeBatch for a DELETE that does not match the record set there."""

    def __init__(self, name, _type, why):
        super().__init__("InvalidChangeBatch", f"Tried to delete resource record set [name='{name}', type='{_type}'] but {why}")


def contents(ttl, values, alias):
    """What a DELETE must repeat to match: the TTL and the values (in any order), or the alias."""
    return (str(ttl), tuple(sorted(values)), repr(alias) if alias else None)


def refuse_as_route53_does(zone, changes):
    """Raises Route53's InvalidChangeBatch for the first CREATE of a record set that exists, and for
    the first DELETE of one that is not there with exactly the TTL and values given, taking the
    batch's earlier changes into account, as Route53 applies a batch in order."""
    present = {
        key({"Name": r.name, "Type": r.type, "SetIdentifier": r.set_identifier}): contents(r.ttl, r.records, r.alias_target)
        for r in zone.rrsets
    }
    for change in changes:
        record_set = change["ResourceRecordSet"]
        k = key(record_set)
        values = [v["Value"] if isinstance(v, dict) else v for v in record_set.get("ResourceRecords", [])]
        given = contents(record_set.get("TTL", 0), values, record_set.get("AliasTarget"))
        if change["Action"] == "CREATE":
            if k in present:
                raise ResourceRecordAlreadyExists(name=k[0] + ".", _type=k[1])
            present[k] = given
        elif change["Action"] == "UPSERT":
            present[k] = given
        elif change["Action"] == "DELETE":
            if k not in present:
                raise DeleteRefused(k[0] + ".", k[1], "it was not found")
            if present[k] != given:
                raise DeleteRefused(k[0] + ".", k[1], "the values provided do not match the current values")
            del present[k]


moto_change = models.Route53Backend.change_resource_record_sets
# Route53 applies one batch at a time; moto's threaded server would let a check and another
# batch's write interleave.
one_batch_at_a_time = threading.Lock()


def change_resource_record_sets(self, zoneid, change_list):
    with one_batch_at_a_time:
        refuse_as_route53_does(self.get_hosted_zone(zoneid), change_list)
        moto_change(self, zoneid, change_list)


models.Route53Backend.change_resource_record_sets = change_resource_record_sets
# The journal's `in` serves moto's replay check only ("a CREATE seen before is refused if anything
# sorts after it"): answering no switches that check off and leaves the rest of moto's checks be.
models.ChangeList.__contains__ = lambda self, item: False

if __name__ == "__main__":
    if "-h" in sys.argv[1:] or "--help" in sys.argv[1:]:
        print(__doc__)
    import moto

    if moto.__version__ not in CHECKED:
        print(f"moto_route53.py: checked against moto {', '.join(CHECKED)}, running {moto.__version__}", file=sys.stderr)
    main(sys.argv[1:])
