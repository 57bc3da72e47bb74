//! The expression language reads text from config files written by people in a hurry: no
//! input may panic the parser, the type checker or the evaluator.

use proptest::prelude::*;
use serde_json::json;
use upkeep_expr::{Field, Observations, Schema, Type, Value, compile, parse};

fn schema() -> Schema {
    Schema::new(&[
        Field::new("status", Type::Number, ""),
        Field::new("latency", Type::Duration, ""),
        Field::new("body", Type::String, ""),
        Field::new("exists", Type::Bool, ""),
        Field::new("records", Type::List, ""),
    ])
    .with_dynamic(Field::new("json", Type::Dynamic, ""))
    .with_history(upkeep_expr::History { checks: vec!["api".into()], slos: vec!["api-availability".into()] })
    .with_scope("api", std::sync::Arc::new(Schema::new(&[Field::new("status", Type::Number, "")])))
}

fn observations() -> Observations {
    let mut o = Observations::new();
    o.insert("status", Value::Number(200.0));
    o.insert("latency", Value::Duration(0.01));
    o.insert("body", Value::String("ok".into()));
    o.insert("exists", Value::Bool(true));
    o.insert("records", Value::List(vec![Value::String("127.0.0.1".into())]));
    o.insert("json", Value::Json(json!({"a": [1, {"b": null}], "s": "x"})));
    o
}

/// Fragments that make syntactically interesting soup when strung together.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("status".to_string()),
        Just("json.a[1].b".to_string()),
        Just("latency".to_string()),
        Just("body".to_string()),
        Just("records".to_string()),
        Just("exists".to_string()),
        Just("availability(api, 30d)".to_string()),
        Just("api.status".to_string()),
        Just("burn_rate(api-availability, 1h)".to_string()),
        Just("budget_remaining(api-availability)".to_string()),
        Just("==".to_string()),
        Just("<".to_string()),
        Just(">=".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just("contains".to_string()),
        Just("matches".to_string()),
        Just("in".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just("200ms".to_string()),
        Just("85%".to_string()),
        Just("10GiB".to_string()),
        Just("-3".to_string()),
        Just("null".to_string()),
        Just("\"x(\"".to_string()),
        Just("'".to_string()),
        "[a-z.\\[\\]0-9\"'()<>=! ]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,80}") {
        let _ = parse(&src);
        if let Ok(program) = compile(&src, &schema()) {
            let _ = program.eval(&observations());
            let _ = program.explain(&observations());
        }
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(token(), 0..16)) {
        let src = tokens.join(" ");
        if let Ok(program) = compile(&src, &schema()) {
            let _ = program.eval(&observations());
            let _ = program.explain(&Observations::new());
        }
    }

    #[test]
    fn errors_point_inside_the_source(src in "\\PC{0,40}") {
        if let Err(errors) = compile(&src, &schema()) {
            for e in errors {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= src.len(), "{e:?} for {src:?}");
            }
        }
    }
}

/// Issue 22, defect 2: a long `or` chain was a left-deep tree, and the type checker and the
/// evaluator recursed down it until a worker's stack overflowed. Now a chain is one node: the
/// longest expression the parser accepts compiles and evaluates on half a tokio worker's stack, and anything
/// longer is refused with a message.
#[test]
fn the_longest_expressions_run_on_a_small_stack() {
    let chain = vec!["status == 1"; 260].join(" or ");
    let mixed = vec!["(status == 1 and latency < 1ms)"; 110].join(" or ");
    let nested = "(".repeat(60) + &vec!["not exists"; 200].join(" and ") + &")".repeat(60);
    let worker = std::thread::Builder::new().stack_size(1 << 20).spawn(move || {
        for src in [chain, mixed, nested] {
            assert!(src.len() <= 4096, "{}", src.len());
            let program = compile(&src, &schema()).unwrap_or_else(|e| panic!("{e:?}"));
            assert!(!program.eval(&observations()).unwrap());
            let _ = program.explain(&observations());
        }
    });
    worker.unwrap().join().unwrap();
    let too_long = vec!["status == 1"; 3600].join(" or ");
    let err = compile(&too_long, &schema()).unwrap_err().remove(0);
    assert!(err.message.contains("at most 4096"), "{}", err.message);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Extreme sizes and nesting never panic (nor overflow the stack: proptest runs this on its
    /// own thread with the default stack).
    #[test]
    fn extreme_sizes_and_nesting_never_panic(
        depth in 0usize..3000,
        terms in 0usize..4000,
        open in prop_oneof![Just("("), Just("not "), Just("["), Just("p95(")],
    ) {
        let src = open.repeat(depth) + &vec!["exists"; terms.max(1)].join(" or ");
        if let Ok(program) = compile(&src, &schema()) {
            let _ = program.eval(&observations());
        }
    }
}
