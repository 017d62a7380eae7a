//! The wire form of a fully populated event, pinned: the hand-written impls (json.rs) must
//! keep every key, its order and every omission as the derived impls wrote them.

use super::*;

fn full_event() -> Event {
    let mut e = Event::new();
    e.event_id = "9ec79c33ec9942ab8353589fcb2e04dc".parse().unwrap();
    e.timestamp = 1700000000.123456;
    e.level = Level::Warning;
    e.message = Some("m \"q\" é".into());
    e.logger = Some("lg".into());
    let frame = Frame {
        function: Some("f".into()),
        filename: Some("a.rs".into()),
        abs_path: Some("/a.rs".into()),
        lineno: Some(3),
        colno: Some(4),
        module: Some("m".into()),
        package: Some("p".into()),
        instruction_addr: Some("0x1".into()),
        symbol_addr: Some("0x0".into()),
        in_app: Some(true),
    };
    let mut regs = Map::new();
    regs.insert("rip".into(), "0x5".into());
    let st = Stacktrace {
        frames: vec![frame, Frame::default()],
        registers: regs.clone(),
    };
    e.exception = Some(Exceptions {
        values: vec![
            Exception {
                ty: "T".into(),
                value: Some("v".into()),
                module: Some("md".into()),
                stacktrace: Some(st.clone()),
                mechanism: Some(Mechanism {
                    ty: "panic".into(),
                    description: Some("d".into()),
                    handled: Some(false),
                    synthetic: Some(true),
                    meta: regs.clone(),
                    data: regs.clone(),
                }),
                thread_id: Some(7),
            },
            Exception::default(),
        ],
    });
    e.threads = Some(Threads {
        values: vec![
            Thread {
                id: Some(1),
                name: Some("main".into()),
                stacktrace: Some(st),
                crashed: Some(true),
                current: Some(false),
                main: Some(true),
            },
            Thread::default(),
        ],
    });
    let b = Breadcrumb {
        timestamp: 1.5,
        category: Some("c".into()),
        message: Some("msg".into()),
        data: regs.clone(),
        level: Level::Debug,
        ..Default::default()
    };
    let b2 = Breadcrumb {
        timestamp: 2.0,
        ..Default::default()
    };
    e.breadcrumbs = Some(Breadcrumbs {
        values: vec![b, b2],
    });
    e.tags.insert("t".into(), "v".into());
    e.extra
        .insert("x".into(), serde_json::json!({"n": [1, 2.5, null]}));
    let mut u = User {
        id: Some("1".into()),
        email: Some("e".into()),
        username: Some("u".into()),
        ip_address: Some("1.2.3.4".into()),
        ..Default::default()
    };
    u.other.insert("zz".into(), 1.into());
    u.other.insert("aa".into(), 2.into());
    e.user = Some(u);
    let mut r = Request {
        url: Some("http://x".into()),
        method: Some("GET".into()),
        data: Some(serde_json::json!({"a":1})),
        query_string: Some("q=1".into()),
        cookies: Some("c=1".into()),
        ..Default::default()
    };
    r.headers.insert("H".into(), "v".into());
    r.env.insert("E".into(), "v".into());
    e.request = Some(r);
    let mut ctx = Map::new();
    ctx.insert("type".into(), "os".into());
    e.contexts.insert("os".into(), ctx);
    e.fingerprint = vec!["{{ default }}".into()];
    e.release = Some("r".into());
    e.environment = Some("env".into());
    e.server_name = Some("s".into());
    e.transaction = Some("tx".into());
    e.sdk = Some(ClientSdkInfo {
        name: "n".into(),
        version: "v".into(),
        integrations: vec!["i".into()],
    });
    e.debug_meta = Some(DebugMeta {
        images: vec![DebugImage {
            ty: "elf".into(),
            code_file: "/bin/x".into(),
            code_id: Some("ab".into()),
            debug_id: "id".into(),
            image_addr: "0x1000".into(),
            image_size: 4096,
            arch: Some("x86_64".into()),
        }],
    });

    e
}

/// The bytes the derived impls wrote for `full_event()`.
const FULL_EVENT_JSON: &str = r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","timestamp":1700000000.123456,"level":"warning","platform":"native","message":"m \"q\" é","logger":"lg","exception":{"values":[{"type":"T","value":"v","module":"md","stacktrace":{"frames":[{"function":"f","filename":"a.rs","abs_path":"/a.rs","lineno":3,"colno":4,"module":"m","package":"p","instruction_addr":"0x1","symbol_addr":"0x0","in_app":true},{}],"registers":{"rip":"0x5"}},"mechanism":{"type":"panic","description":"d","handled":false,"synthetic":true,"meta":{"rip":"0x5"},"data":{"rip":"0x5"}},"thread_id":7},{"type":""}]},"threads":{"values":[{"id":1,"name":"main","stacktrace":{"frames":[{"function":"f","filename":"a.rs","abs_path":"/a.rs","lineno":3,"colno":4,"module":"m","package":"p","instruction_addr":"0x1","symbol_addr":"0x0","in_app":true},{}],"registers":{"rip":"0x5"}},"crashed":true,"current":false,"main":true},{}]},"breadcrumbs":{"values":[{"timestamp":1.5,"type":"default","category":"c","level":"debug","message":"msg","data":{"rip":"0x5"}},{"timestamp":2.0,"type":"default","level":"info"}]},"tags":{"t":"v"},"extra":{"x":{"n":[1,2.5,null]}},"user":{"id":"1","email":"e","username":"u","ip_address":"1.2.3.4","aa":2,"zz":1},"request":{"url":"http://x","method":"GET","data":{"a":1},"query_string":"q=1","cookies":"c=1","headers":{"H":"v"},"env":{"E":"v"}},"contexts":{"os":{"type":"os"}},"fingerprint":["{{ default }}"],"release":"r","environment":"env","server_name":"s","transaction":"tx","sdk":{"name":"n","version":"v","integrations":["i"]},"debug_meta":{"images":[{"type":"elf","code_file":"/bin/x","code_id":"ab","debug_id":"id","image_addr":"0x1000","image_size":4096,"arch":"x86_64"}]}}"#;

#[test]
fn a_full_event_is_written_exactly_as_before() {
    let json = serde_json::to_string(&full_event()).unwrap();
    assert_eq!(json, FULL_EVENT_JSON);
}

#[test]
fn a_full_event_reads_back_equal() {
    let event = full_event();
    let back: Event = serde_json::from_str(FULL_EVENT_JSON).unwrap();
    assert_eq!(back, event);
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(
        value,
        serde_json::from_str::<Value>(FULL_EVENT_JSON).unwrap()
    );
}
