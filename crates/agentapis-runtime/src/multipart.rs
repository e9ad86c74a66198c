//! `multipart/form-data` bodies for operations progenitor can only send as raw bytes.
//!
//! The xtask rewrites such bodies to `application/octet-stream` (rule `multipart-body-as-bytes`).
//! Callers build the payload with [`Form`]; the runtime then sets the multipart content type
//! with the boundary the payload starts with.

use reqwest::header::{HeaderValue, CONTENT_TYPE};

/// A multipart body under construction.
#[derive(Debug, Clone)]
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Form {
    fn default() -> Self {
        Self::new()
    }
}

impl Form {
    /// An empty form with a boundary that cannot occur in quoted field names.
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            boundary: format!("agentapis-{nanos:032x}"),
            body: Vec::new(),
        }
    }

    /// Adds a text field.
    pub fn text(self, name: &str, value: &str) -> Self {
        self.part(name, None, "text/plain; charset=utf-8", value.as_bytes())
    }

    /// Adds a file field.
    pub fn file(self, name: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.part(name, Some(filename), content_type, bytes)
    }

    fn part(mut self, name: &str, filename: Option<&str>, content_type: &str, bytes: &[u8]) -> Self {
        let quote = |s: &str| s.replace(['"', '\r', '\n'], "_");
        let mut head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{}\"",
            self.boundary,
            quote(name)
        );
        if let Some(f) = filename {
            head.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        head.push_str(&format!("\r\nContent-Type: {}\r\n\r\n", quote(content_type)));
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The finished payload, to pass as the operation's body.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        self.body
    }
}

/// Sets `Content-Type: multipart/form-data; boundary=…` from the first line of the body.
/// A body that does not start with a boundary line is left alone.
pub fn set_content_type(request: &mut reqwest::Request) {
    let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) else {
        return;
    };
    let Some(first) = bytes.split(|b| *b == b'\r').next() else {
        return;
    };
    let Some(boundary) = first.strip_prefix(b"--").and_then(|b| std::str::from_utf8(b).ok()) else {
        return;
    };
    if boundary.is_empty() || !boundary.bytes().all(|b| b.is_ascii_graphic()) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")) {
        request.headers_mut().insert(CONTENT_TYPE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_carries_the_body_boundary() {
        let body = Form::new()
            .file("file", "a.csv", "text/csv", b"x,y\n1,2\n")
            .into_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        let boundary = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("--"))
            .expect("boundary line")
            .to_owned();
        let mut req = reqwest::Request::new(reqwest::Method::POST, "http://h/".parse().expect("url"));
        *req.body_mut() = Some(body.into());
        set_content_type(&mut req);
        assert_eq!(
            req.headers()[CONTENT_TYPE],
            format!("multipart/form-data; boundary={boundary}").as_str()
        );
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn a_body_without_boundary_is_left_alone() {
        let mut req = reqwest::Request::new(reqwest::Method::POST, "http://h/".parse().expect("url"));
        *req.body_mut() = Some(b"plain".to_vec().into());
        set_content_type(&mut req);
        assert!(req.headers().get(CONTENT_TYPE).is_none());
    }
}
