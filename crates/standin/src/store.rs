//! Light state: resources created through the API can be read back, updated, listed and
//! deleted. Keyed by the concrete collection path (`/api/v1/agents`, `/orgs/c/assistants`), so
//! it works for any spec that names items `<collection>/{id}`. Ids never created are answered
//! from the schema as before, so examples still work; deleted ids answer 404.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::Value;

#[derive(Default)]
pub(crate) struct Store {
    items: Mutex<HashMap<String, Vec<(String, Value)>>>,
    deleted: Mutex<HashSet<String>>,
    next: Mutex<u64>,
}

/// Where an answer's object sits: the body itself, or an envelope's `data`.
fn object_mut(body: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    if body.get("data").is_some_and(Value::is_object) && body.get("success").is_some() {
        body.get_mut("data")?.as_object_mut()
    } else {
        body.as_object_mut()
    }
}

/// Copies the request's fields onto the answer where the answer has a field of that name.
fn merge(answer: &mut Value, request: Option<&Value>) {
    let (Some(target), Some(Value::Object(fields))) = (object_mut(answer), request) else {
        return;
    };
    for (k, v) in fields {
        if target.contains_key(k) && !v.is_null() && k != "id" {
            target.insert(k.clone(), v.clone());
        }
    }
}

impl Store {
    /// `POST <collection>`: keeps the generated answer (with the request's fields and a new id).
    pub(crate) fn create(&self, collection: &str, answer: &mut Value, request: Option<&Value>) {
        merge(answer, request);
        let id = {
            let Ok(mut next) = self.next.lock() else { return };
            *next += 1;
            format!("{}_{:04}", singular(collection), *next)
        };
        let Some(target) = object_mut(answer) else { return };
        if !target.contains_key("id") {
            return; // not an item with an id: nothing to keep
        }
        target.insert("id".into(), Value::from(id.clone()));
        if let Ok(mut items) = self.items.lock() {
            items
                .entry(collection.to_owned())
                .or_default()
                .push((id, answer.clone()));
        }
    }

    /// `POST <collection>/<id>` where the item has no `GET` of its own (an upsert keyed by
    /// the path, e.g. Agentiv's schedule per agent): keeps the answer under `id`, replacing any.
    pub(crate) fn upsert(&self, collection: &str, id: &str, answer: &mut Value, request: Option<&Value>) {
        merge(answer, request);
        if let Ok(mut items) = self.items.lock() {
            let list = items.entry(collection.to_owned()).or_default();
            list.retain(|(i, _)| i != id);
            list.push((id.to_owned(), answer.clone()));
        }
    }

    /// `GET <collection>/<id>`: the kept item, `Err` when deleted, `Ok(None)` when never seen.
    pub(crate) fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, ()> {
        if self
            .deleted
            .lock()
            .is_ok_and(|d| d.contains(&format!("{collection}/{id}")))
        {
            return Err(());
        }
        Ok(self.items.lock().ok().and_then(|items| {
            items
                .get(collection)?
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, v)| v.clone())
        }))
    }

    /// `PATCH`/`PUT <collection>/<id>`: applies the request to a kept item.
    pub(crate) fn update(&self, collection: &str, id: &str, request: Option<&Value>) -> Option<Value> {
        let mut items = self.items.lock().ok()?;
        let (_, item) = items.get_mut(collection)?.iter_mut().find(|(i, _)| i == id)?;
        merge(item, request);
        Some(item.clone())
    }

    /// `DELETE <collection>/<id>`.
    pub(crate) fn delete(&self, collection: &str, id: &str) {
        if let Ok(mut items) = self.items.lock() {
            if let Some(list) = items.get_mut(collection) {
                list.retain(|(i, _)| i != id);
            }
        }
        if let Ok(mut deleted) = self.deleted.lock() {
            deleted.insert(format!("{collection}/{id}"));
        }
    }

    /// Kept items of `collection`, as they appear in a list (unwrapped from envelopes).
    pub(crate) fn list(&self, collection: &str) -> Vec<Value> {
        self.items
            .lock()
            .ok()
            .and_then(|items| items.get(collection).cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(_, mut v)| match object_mut(&mut v) {
                Some(o) => Value::Object(o.clone()),
                None => v,
            })
            .collect()
    }
}

fn singular(collection: &str) -> String {
    let last = collection.rsplit('/').next().unwrap_or("item");
    let short: String = last.trim_end_matches('s').chars().take(5).collect();
    if short.is_empty() {
        "item".into()
    } else {
        short
    }
}
