//! URLs: the page's base, the last-id query parameter, and making the browser's source.

use web_sys::EventSourceInit;

use crate::Error;

pub(crate) fn new_raw(url: &str, with_credentials: bool) -> Result<web_sys::EventSource, String> {
    let init = EventSourceInit::new();
    init.set_with_credentials(with_credentials);
    web_sys::EventSource::new_with_event_source_init_dict(url, &init)
        .map_err(|error| crate::error::describe(&error))
}

pub(crate) fn invalid(url: &str, message: String) -> Error {
    Error::InvalidUrl { url: url.to_owned(), message }
}

/// `url` resolved against the document's base URL (or, in a worker, its location).
pub(crate) fn resolve(url: &str) -> Result<String, Error> {
    let global = js_sys::global();
    let base = js_sys::Reflect::get(&global, &"document".into())
        .ok()
        .filter(|document| document.is_object())
        .and_then(|document| js_sys::Reflect::get(&document, &"baseURI".into()).ok())
        .or_else(|| {
            js_sys::Reflect::get(&global, &"location".into())
                .ok()
                .and_then(|location| js_sys::Reflect::get(&location, &"href".into()).ok())
        })
        .and_then(|base| base.as_string());
    let parsed = match base {
        Some(base) => web_sys::Url::new_with_base(url, &base),
        None => web_sys::Url::new(url),
    };
    parsed.map(|url| url.href()).map_err(|error| invalid(url, crate::error::describe(&error)))
}

/// The absolute `url` with its `param` query parameter set to `id`.
pub(crate) fn with_last_id(url: &str, param: &str, id: &str) -> Result<String, String> {
    let url = web_sys::Url::new(url).map_err(|error| crate::error::describe(&error))?;
    url.search_params().set(param, id);
    Ok(url.href())
}
