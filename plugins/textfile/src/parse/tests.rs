//! The parser against what Prometheus' Go parser accepts and refuses.

use super::*;

fn ok(input: &str) -> Vec<Family> {
    parse(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn err(input: &str) -> String {
    match parse(input.as_bytes()) {
        Ok(f) => panic!("{input:?} parsed: {f:?}"),
        Err(e) => e.to_string(),
    }
}

fn simple(f: &Family) -> Vec<(Vec<(&str, &str)>, f64)> {
    f.metrics
        .iter()
        .map(|m| {
            let labels = m
                .labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            match m.value {
                Value::Simple(v) => (labels, v),
                ref other => panic!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn counters_gauges_and_untyped_with_help_and_escapes() {
    let families = ok(concat!(
        "# HELP jobs_total Jobs run, with \\\\ and \\n in help.\n",
        "# TYPE jobs_total counter\n",
        "jobs_total{job=\"backup\",result=\"a \\\"quoted\\\" \\\\ value\\n\"} 3\n",
        "  # a free comment\n",
        "\n",
        "# TYPE temp gauge\n",
        "temp -1.5e3\n",
        "bare{a=\"1\",} +Inf\n",
        "\tspaced { a = \"x\" }  NaN\n",
    ));
    assert_eq!(families.len(), 4);
    let jobs = &families[0];
    assert_eq!(jobs.kind(), Kind::Counter);
    assert_eq!(
        jobs.help.as_deref(),
        Some("Jobs run, with \\ and \n in help.")
    );
    assert_eq!(
        simple(jobs),
        [(
            vec![("job", "backup"), ("result", "a \"quoted\" \\ value\n")],
            3.0
        )]
    );
    assert_eq!(families[1].kind(), Kind::Gauge);
    assert_eq!(simple(&families[1]), [(vec![], -1500.0)]);
    assert_eq!(families[2].kind(), Kind::Untyped);
    assert_eq!(families[2].help, None);
    assert_eq!(simple(&families[2]), [(vec![("a", "1")], f64::INFINITY)]);
    let Value::Simple(nan) = families[3].metrics[0].value else {
        panic!()
    };
    assert!(nan.is_nan());
}

#[test]
fn summaries_and_histograms_group_their_lines_by_labels() {
    let families = ok(concat!(
        "# TYPE rpc summary\n",
        "rpc{service=\"a\",quantile=\"0.5\"} 1\n",
        "rpc{service=\"b\",quantile=\"0.5\"} 2\n",
        "rpc_sum{service=\"a\"} 10\n",
        "rpc{quantile=\"0.9\",service=\"a\"} 3\n",
        "rpc_count{service=\"a\"} 4\n",
        "# TYPE lat histogram\n",
        "lat_bucket{le=\"0.1\"} 1\n",
        "lat_bucket{le=\"+Inf\"} 5\n",
        "lat_sum 2.5\n",
        "lat_count 5\n",
    ));
    assert_eq!(families.len(), 2);
    let rpc = &families[0];
    assert_eq!(rpc.metrics.len(), 2);
    assert_eq!(rpc.metrics[0].labels, [("service".into(), "a".into())]);
    assert_eq!(
        rpc.metrics[0].value,
        Value::Summary {
            quantiles: vec![(0.5, 1.0), (0.9, 3.0)],
            sum: 10.0,
            count: 4
        }
    );
    assert_eq!(
        rpc.metrics[1].value,
        Value::Summary {
            quantiles: vec![(0.5, 2.0)],
            sum: 0.0,
            count: 0
        }
    );
    assert_eq!(
        families[1].metrics[0].value,
        Value::Histogram {
            buckets: vec![(0.1, 1), (f64::INFINITY, 5)],
            sum: 2.5,
            count: 5
        }
    );
}

#[test]
fn sum_and_count_without_a_summary_type_are_families_of_their_own() {
    let families = ok("x_sum 1\nx_count 2\n# TYPE y counter\ny_count 3\n");
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["x_sum", "x_count", "y_count"]);
}

#[test]
fn timestamps_are_kept_for_the_caller_to_refuse() {
    let families = ok("a 1 1700000000000\n");
    assert_eq!(families[0].metrics[0].timestamp_ms, Some(1_700_000_000_000));
}

#[test]
fn families_without_samples_are_dropped() {
    assert!(ok("# HELP a Nothing.\n# TYPE a gauge\n").is_empty());
    assert!(ok("").is_empty());
    assert!(ok("\n \t\n").is_empty());
}

#[test]
fn empty_help_and_type_lines_are_comments() {
    let families = ok("# HELP a\n# HELP a \n# TYPE a\n# HELP\n#\n# TYPE a gauge\na 1\n");
    assert_eq!(families[0].help, None);
    assert_eq!(families[0].kind(), Kind::Gauge);
}

#[test]
fn refusals_carry_the_go_parsers_words() {
    let cases: &[(&str, &str)] = &[
        ("a 1", "line 1: unexpected end of input stream"),
        ("a 1\n# HELP a x", "line 2: unexpected end of input stream"),
        ("a 1 \n", "line 1: expected integer as timestamp, got \"\""),
        (
            "a 1 2 3\n",
            "line 1: spurious string after timestamp: \" 3\"",
        ),
        ("a x\n", "line 1: expected float as value, got \"x\""),
        ("a 1_000\n", "expected float as value, got \"1_000\""),
        ("a 0x1p3\n", "expected float as value"),
        ("a 1e400\n", "expected float as value, got \"1e400\""),
        ("a 1 1.5\n", "expected integer as timestamp, got \"1.5\""),
        (
            "a{b=\"1\",b=\"2\"} 1\n",
            "duplicate label names for metric \"a\"",
        ),
        (
            "a{__name__=\"b\"} 1\n",
            "label name \"__name__\" is reserved",
        ),
        (
            "a{b=1} 1\n",
            "expected '\"' at start of label value, found '1'",
        ),
        ("a{b:\"1\"} 1\n", "expected '=' after label name, found ':'"),
        ("a{1=\"x\"} 1\n", "invalid label name for metric \"a\""),
        ("a{b=\"x\\t\"} 1\n", "invalid escape sequence '\\t'"),
        (
            "a{b=\"x\n\"} 1\n",
            "label value \"x\" contains unescaped new-line",
        ),
        (
            "a{b=\"x\" c=\"y\"} 1\n",
            "unexpected end of label value \"x\"",
        ),
        ("{b=\"x\"} 1\n", "line 1: invalid metric name"),
        ("-a 1\n", "invalid metric name"),
        ("# HELP a-b x\n", "invalid metric name in comment"),
        (
            "# HELP a x\n# HELP a y\n",
            "line 2: second HELP line for metric name \"a\"",
        ),
        (
            "a 1\n# TYPE a gauge\n",
            "line 2: second TYPE line for metric name \"a\", or TYPE reported after samples",
        ),
        ("# TYPE a gauge \n", "unknown metric type \"gauge \""),
        ("# TYPE a info\n", "unknown metric type \"info\""),
        ("# HELP a bad \\x\n", "invalid escape sequence '\\x'"),
        (
            "# TYPE s summary\ns{quantile=\"high\"} 1\n",
            "expected float as value for 'quantile' label, got \"high\"",
        ),
        (
            "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
            "expected float as value for 'le' label, got \"x\"",
        ),
        (
            "# TYPE g gauge_histogram\ng 1\n",
            "unexpected type for metric name \"g\"",
        ),
    ];
    for (input, want) in cases {
        let got = err(input);
        assert!(got.contains(want), "{input:?}: {got}");
        assert!(
            got.starts_with("text format parsing error in line "),
            "{got}"
        );
    }
}

#[test]
fn label_values_must_be_utf8() {
    let got = parse(b"a{b=\"\xff\"} 1\n").unwrap_err().to_string();
    assert!(got.contains("invalid label value"), "{got}");
}

#[test]
fn type_is_case_insensitive_and_floats_take_gos_spellings() {
    let families = ok("# TYPE a COUNTER\na 1\nb Inf\nc -infinity\nd .5\ne 5.\nf 1E3\n");
    assert_eq!(families[0].kind(), Kind::Counter);
    let values: Vec<f64> = families[1..]
        .iter()
        .map(|f| match f.metrics[0].value {
            Value::Simple(v) => v,
            _ => panic!(),
        })
        .collect();
    assert_eq!(values, [f64::INFINITY, f64::NEG_INFINITY, 0.5, 5.0, 1000.0]);
}
