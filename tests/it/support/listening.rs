//! A real listening `mailvet serve` for the HTTP tests: the router behind
//! `mailvet::http::serve_on` on a random port of 127.0.0.1, a reqwest
//! client to call it over the socket, and a stop that shuts it down
//! gracefully, as SIGTERM would.

use mailvet::http::AppState;
use reqwest::{Method, header};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A `mailvet serve` on 127.0.0.1, stopped by [`Running::stop`] as
/// SIGTERM would stop it.
pub struct Running {
    pub addr: SocketAddr,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub async fn start(state: AppState) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(mailvet::http::serve_on(listener, state, async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            client: reqwest::Client::new(),
            stop: Some(stop),
            done,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, &[]).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(header::HeaderName, &str)],
    ) -> reqwest::Response {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        request.send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_raw(path, "application/json", body.to_string().into_bytes())
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.request(Method::POST, path)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The `/metrics` text, asked with `key` as the bearer token.
    pub async fn metrics(&self, key: &str) -> String {
        let bearer = format!("Bearer {key}");
        let response = self
            .send(Method::GET, "/metrics", &[(header::AUTHORIZATION, &bearer)])
            .await;
        response.text().await.unwrap()
    }

    /// How many requests are being answered, the metrics request itself
    /// included (0 when the gauge is missing).
    pub async fn in_flight(&self, key: &str) -> usize {
        self.metrics(key)
            .await
            .lines()
            .find_map(|l| l.strip_prefix("mailvet_http_requests_in_flight "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until `n` requests besides the metrics request itself are
    /// being answered (asking `/metrics` with `key`).
    pub async fn wait_in_flight(&self, key: &str, n: usize) {
        let want = format!("mailvet_http_requests_in_flight {}", n + 1);
        for _ in 0..200 {
            if self.metrics(key).await.lines().any(|l| l == want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{n} requests never came in flight");
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}
