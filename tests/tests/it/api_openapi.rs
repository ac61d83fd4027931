//! `/openapi.json` describes what the API really answers: real responses of
//! the main operations are checked against the schema the document gives
//! for their status (required members present, no undocumented members,
//! JSON types right).

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use vod_tests::TestEnv;
use vod_tests::api::{ApiHandle, fake_mp4, spawn_api};

struct Doc(Value);

impl Doc {
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                let target = &self.0["components"]["schemas"][name];
                assert!(!target.is_null(), "dangling $ref {r}");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// Errors of `value` against `schema`, with JSON paths.
    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(any) = schema.get("oneOf").or(schema.get("anyOf")) {
            let fits = any.as_array().unwrap().iter().any(|s| {
                let mut e = Vec::new();
                self.check(s, value, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} fits none of the alternatives"));
            }
            return;
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let actual = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_f64() => "number",
                Value::Number(_) => "integer",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
            if !ok {
                errors.push(format!("{at}: {actual} where the document says {types:?}"));
                return;
            }
        }
        if let (Some(items), Value::Array(values)) = (schema.get("items"), value) {
            for (i, v) in values.iter().enumerate() {
                self.check(items, v, &format!("{at}[{i}]"), errors);
            }
        }
        let Value::Object(members) = value else {
            return;
        };
        // allOf (how `#[serde(flatten)]` is documented) merges its parts.
        let mut parts = vec![schema];
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            parts.extend(all.iter().map(|s| self.resolve(s)));
        }
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for p in parts {
            if let Some(props) = p.get("properties").and_then(Value::as_object) {
                properties.extend(props.clone());
            }
            if let Some(r) = p.get("required").and_then(Value::as_array) {
                required.extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
        if properties.is_empty() {
            return; // a free-form object
        }
        for r in &required {
            if !members.contains_key(r) {
                errors.push(format!("{at}: required member `{r}` is missing"));
            }
        }
        for (k, v) in members {
            match properties.get(k) {
                Some(s) => self.check(s, v, &format!("{at}.{k}"), errors),
                None => errors.push(format!("{at}: member `{k}` is not documented")),
            }
        }
    }

    /// Checks a real answer of `method path` against the documented one.
    async fn conforms(&self, method: &str, path: &str, resp: reqwest::Response) -> Value {
        let status = resp.status().as_u16().to_string();
        let body: Value = resp.json().await.unwrap();
        let op = &self.0["paths"][path][method];
        assert!(!op.is_null(), "{method} {path} is not documented");
        let documented = &op["responses"][&status];
        assert!(
            !documented.is_null(),
            "{method} {path} answered {status}, which the document does not list: {body}"
        );
        let schema = &documented["content"]["application/json"]["schema"];
        assert!(
            !schema.is_null(),
            "{method} {path} {status} has no JSON schema"
        );
        let mut errors = Vec::new();
        self.check(schema, &body, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {errors:#?}\n{body}"
        );
        body
    }
}

async fn fetch_doc(api: &ApiHandle) -> Doc {
    let resp = api
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    Doc(doc)
}

#[tokio::test]
async fn real_answers_match_the_document() {
    let env = TestEnv::start("api_openapi").await;
    let api = spawn_api(&env, |_| {}).await;
    let doc = fetch_doc(&api).await;
    let admin = api.admin_token.clone();
    let req = |m: Method, p: &str, t: &str| api.request(m, p, Some(t));

    let resp = req(Method::POST, "/v1/tokens", &admin)
        .json(&json!({"name": "docs", "role": "uploader"}))
        .send()
        .await
        .unwrap();
    let token = doc.conforms("post", "/v1/tokens", resp).await;
    let uploader = token["token"].as_str().unwrap().to_owned();
    let resp = req(Method::GET, "/v1/tokens", &admin).send().await.unwrap();
    doc.conforms("get", "/v1/tokens", resp).await;

    let form = Form::new()
        .text("title", "Documented")
        .part("file", Part::bytes(fake_mp4(4096)).file_name("a.mp4"));
    let resp = req(Method::POST, "/v1/videos", &uploader)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let accepted = doc.conforms("post", "/v1/videos", resp).await;
    let id = accepted["video"]["id"].as_str().unwrap().to_owned();
    let job = accepted["job"]["id"].as_str().unwrap().to_owned();

    let resp = req(Method::GET, &format!("/v1/videos/{id}"), &uploader)
        .send()
        .await
        .unwrap();
    doc.conforms("get", "/v1/videos/{id}", resp).await;
    let resp = req(Method::GET, "/v1/videos?per_page=5", &uploader)
        .send()
        .await
        .unwrap();
    let page = doc.conforms("get", "/v1/videos", resp).await;
    assert_eq!(page["items"][0]["id"], id.as_str());
    let resp = req(Method::GET, &format!("/v1/jobs/{job}"), &uploader)
        .send()
        .await
        .unwrap();
    doc.conforms("get", "/v1/jobs/{id}", resp).await;
    let resp = req(Method::POST, &format!("/v1/jobs/{job}/cancel"), &uploader)
        .send()
        .await
        .unwrap();
    doc.conforms("post", "/v1/jobs/{id}/cancel", resp).await;

    let resp = req(Method::POST, "/v1/uploads", &uploader)
        .json(&json!({"title": "Direct", "size": 12 * 1024 * 1024, "file_name": "b.mp4"}))
        .send()
        .await
        .unwrap();
    let created = doc.conforms("post", "/v1/uploads", resp).await;
    let direct = created["video"]["id"].as_str().unwrap().to_owned();
    let resp = req(
        Method::GET,
        &format!("/v1/uploads/{direct}/parts"),
        &uploader,
    )
    .send()
    .await
    .unwrap();
    doc.conforms("get", "/v1/uploads/{id}/parts", resp).await;

    // Errors have their documented shape too.
    let missing = uuid::Uuid::new_v4();
    let resp = req(Method::GET, &format!("/v1/videos/{missing}"), &uploader)
        .send()
        .await
        .unwrap();
    let err = doc.conforms("get", "/v1/videos/{id}", resp).await;
    assert_eq!(err["error"]["code"], "http.not_found");
    let resp = api
        .request(Method::GET, "/v1/videos", Some("vod_not-a-token"))
        .send()
        .await
        .unwrap();
    doc.conforms("get", "/v1/videos", resp).await;

    // The checker itself refuses what the document does not describe.
    let mut errors = Vec::new();
    let video = &doc.0["components"]["schemas"]["Video"];
    doc.check(video, &json!({"id": 3, "surprise": true}), "$", &mut errors);
    assert!(
        errors.iter().any(|e| e.contains("`surprise`")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("`title`")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("$.id")), "{errors:?}");
    env.cleanup().await;
}
