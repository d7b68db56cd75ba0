"""Decodes a delimited Prometheus protobuf exposition from stdin with
Python's protobuf package: an independent parser for the exporter's
protobuf encoder.

The schema (io.prometheus.client, metrics.proto) is declared here field by
field from its published numbers, so no protoc is needed. Every
MetricFamily is printed in protobuf text format, families separated by a
blank line. Exits non-zero on anything the parser rejects, on unknown
fields, and on trailing bytes.

    decode_protobuf.py [--skip-host]   # --skip-host: leave out the
                                       # exporter's own families
"""

import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf import timestamp_pb2  # noqa: F401  (registers Timestamp)
from google.protobuf.unknown_fields import UnknownFieldSet

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
PKG = "io.prometheus.client"

# message: [(name, number, label, type, type_name)]
MESSAGES = {
    "LabelPair": [("name", 1, OPT, F.TYPE_STRING, None), ("value", 2, OPT, F.TYPE_STRING, None)],
    "Gauge": [("value", 1, OPT, F.TYPE_DOUBLE, None)],
    "Counter": [
        ("value", 1, OPT, F.TYPE_DOUBLE, None),
        ("exemplar", 2, OPT, F.TYPE_MESSAGE, "Exemplar"),
        ("created_timestamp", 3, OPT, F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
    ],
    "Quantile": [("quantile", 1, OPT, F.TYPE_DOUBLE, None), ("value", 2, OPT, F.TYPE_DOUBLE, None)],
    "Summary": [
        ("sample_count", 1, OPT, F.TYPE_UINT64, None),
        ("sample_sum", 2, OPT, F.TYPE_DOUBLE, None),
        ("quantile", 3, REP, F.TYPE_MESSAGE, "Quantile"),
        ("created_timestamp", 4, OPT, F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
    ],
    "Untyped": [("value", 1, OPT, F.TYPE_DOUBLE, None)],
    "Histogram": [
        ("sample_count", 1, OPT, F.TYPE_UINT64, None),
        ("sample_count_float", 4, OPT, F.TYPE_DOUBLE, None),
        ("sample_sum", 2, OPT, F.TYPE_DOUBLE, None),
        ("bucket", 3, REP, F.TYPE_MESSAGE, "Bucket"),
        ("created_timestamp", 15, OPT, F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        ("schema", 5, OPT, F.TYPE_SINT32, None),
        ("zero_threshold", 6, OPT, F.TYPE_DOUBLE, None),
        ("zero_count", 7, OPT, F.TYPE_UINT64, None),
        ("zero_count_float", 8, OPT, F.TYPE_DOUBLE, None),
        ("negative_span", 9, REP, F.TYPE_MESSAGE, "BucketSpan"),
        ("negative_delta", 10, REP, F.TYPE_SINT64, None),
        ("negative_count", 11, REP, F.TYPE_DOUBLE, None),
        ("positive_span", 12, REP, F.TYPE_MESSAGE, "BucketSpan"),
        ("positive_delta", 13, REP, F.TYPE_SINT64, None),
        ("positive_count", 14, REP, F.TYPE_DOUBLE, None),
        ("exemplars", 16, REP, F.TYPE_MESSAGE, "Exemplar"),
    ],
    "Bucket": [
        ("cumulative_count", 1, OPT, F.TYPE_UINT64, None),
        ("cumulative_count_float", 4, OPT, F.TYPE_DOUBLE, None),
        ("upper_bound", 2, OPT, F.TYPE_DOUBLE, None),
        ("exemplar", 3, OPT, F.TYPE_MESSAGE, "Exemplar"),
    ],
    "BucketSpan": [("offset", 1, OPT, F.TYPE_SINT32, None), ("length", 2, OPT, F.TYPE_UINT32, None)],
    "Exemplar": [
        ("label", 1, REP, F.TYPE_MESSAGE, "LabelPair"),
        ("value", 2, OPT, F.TYPE_DOUBLE, None),
        ("timestamp", 3, OPT, F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
    ],
    "Metric": [
        ("label", 1, REP, F.TYPE_MESSAGE, "LabelPair"),
        ("gauge", 2, OPT, F.TYPE_MESSAGE, "Gauge"),
        ("counter", 3, OPT, F.TYPE_MESSAGE, "Counter"),
        ("summary", 4, OPT, F.TYPE_MESSAGE, "Summary"),
        ("untyped", 5, OPT, F.TYPE_MESSAGE, "Untyped"),
        ("histogram", 7, OPT, F.TYPE_MESSAGE, "Histogram"),
        ("timestamp_ms", 6, OPT, F.TYPE_INT64, None),
    ],
    "MetricFamily": [
        ("name", 1, OPT, F.TYPE_STRING, None),
        ("help", 2, OPT, F.TYPE_STRING, None),
        ("type", 3, OPT, F.TYPE_ENUM, "MetricType"),
        ("metric", 4, REP, F.TYPE_MESSAGE, "Metric"),
        ("unit", 5, OPT, F.TYPE_STRING, None),
    ],
}
TYPES = ["COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM"]


def message_class():
    fdp = descriptor_pb2.FileDescriptorProto(
        name="wasm_exporter_test/metrics.proto", package=PKG, syntax="proto2",
        dependency=["google/protobuf/timestamp.proto"],
    )
    enum = fdp.enum_type.add(name="MetricType")
    for number, name in enumerate(TYPES):
        enum.value.add(name=name, number=number)
    for message, fields in MESSAGES.items():
        m = fdp.message_type.add(name=message)
        for name, number, label, type_, type_name in fields:
            f = m.field.add(name=name, number=number, label=label, type=type_)
            if type_name:
                f.type_name = type_name if type_name.startswith(".") else f".{PKG}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PKG}.MetricFamily"))


def varint(data, pos):
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated length prefix")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def unknown(msg):
    """Fields the schema does not know, anywhere in msg."""
    found = len(UnknownFieldSet(msg))
    for field, value in msg.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for sub in (value if field.label == field.LABEL_REPEATED else [value]):
                found += unknown(sub)
    return found


def main():
    skip_host = "--skip-host" in sys.argv
    MetricFamily = message_class()
    data = sys.stdin.buffer.read()
    pos = 0
    out = []
    while pos < len(data):
        size, pos = varint(data, pos)
        if pos + size > len(data):
            raise ValueError(f"message of {size} bytes runs past the end at {pos}")
        family = MetricFamily()
        family.ParseFromString(data[pos:pos + size])
        pos += size
        if unknown(family):
            raise ValueError(f"unknown fields in family {family.name}")
        if skip_host and family.name.startswith(("wasm_exporter_", "process_", "promhttp_")):
            continue
        out.append(text_format.MessageToString(family, as_utf8=True))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
