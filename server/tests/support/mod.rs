//! What the service's tests share: reading an answer, and holding the writer thread busy.

#![allow(dead_code)]

use std::io::Read;
use std::sync::mpsc;
use waybill_server::writer::Writer;

/// An HTTP answer, read whole.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: String,
    pub body: serde_json::Value,
    pub text: String,
}

/// Reads `r` whole (its body as JSON when it is JSON, else `Null`).
pub fn read(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let mut text = String::new();
    r.body_mut().as_reader().read_to_string(&mut text).unwrap();
    Answer {
        status: r.status().as_u16(),
        retry_after,
        content_type: content_type.unwrap_or_default(),
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}

/// Runs `body` while the writer thread is held inside a query (its queue fills, its reads
/// wait), then releases it.
pub fn with_writer_held(writer: &Writer, body: impl FnOnce()) {
    std::thread::scope(|scope| {
        let (release, held) = mpsc::channel::<()>();
        let (entered, inside) = mpsc::channel::<()>();
        let hold = scope.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(writer.query(move |_| {
                entered.send(()).unwrap();
                held.recv().unwrap();
            }))
            .is_ok()
        });
        inside.recv().unwrap();
        body();
        release.send(()).unwrap();
        assert!(hold.join().unwrap(), "the held query was answered");
    });
}
