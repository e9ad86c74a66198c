//! The conversion against small Swagger 2.0 documents.

use super::*;

fn petstore() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Pets", "version": "1"},
        "host": "pets.example.com", "basePath": "/v1", "schemes": ["https"],
        "consumes": ["application/json"], "produces": ["application/json"],
        "securityDefinitions": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "basic": {"type": "basic"},
            "oauth": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t", "scopes": {"read": "r"}}},
        "security": [{"key": []}],
        "parameters": {
            "Limit": {"name": "limit", "in": "query", "type": "integer", "format": "int32"},
            "NewPet": {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}},
        "paths": {
            "/pets": {
                "get": {"operationId": "listPets",
                    "parameters": [{"$ref": "#/parameters/Limit"},
                        {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                        {"name": "ids", "in": "query", "type": "array", "items": {"type": "integer"}}],
                    "responses": {"200": {"description": "pets", "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                        "headers": {"X-Next": {"type": "string"}}}}},
                "post": {"operationId": "createPet", "parameters": [{"$ref": "#/parameters/NewPet"}],
                    "responses": {"201": {"description": "made", "schema": {"$ref": "#/definitions/Pet"}}}}},
            "/pets/{id}/photo": {
                "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
                "put": {"operationId": "uploadPhoto", "consumes": ["multipart/form-data"],
                    "parameters": [{"name": "file", "in": "formData", "type": "file", "required": true},
                        {"name": "caption", "in": "formData", "type": "string"}],
                    "responses": {"204": {"description": "done"}}}}},
        "definitions": {"Pet": {"type": "object", "required": ["name"], "discriminator": "kind",
            "properties": {"name": {"type": "string"}, "kind": {"type": "string"},
                "owner": {"type": "string", "x-nullable": true}}}}
    })
}

#[test]
fn a_swagger_2_document_becomes_openapi_3() {
    let mut doc = petstore();
    assert_eq!(upgrade(&mut doc).ok(), Some(1));
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc.get("swagger").is_none() && doc.get("definitions").is_none());
    assert_eq!(doc["servers"], json!([{"url": "https://pets.example.com/v1"}]));
    let c = &doc["components"];
    assert_eq!(
        c["schemas"]["Pet"]["properties"]["owner"],
        json!({"type": "string", "nullable": true})
    );
    assert_eq!(c["schemas"]["Pet"]["discriminator"], json!({"propertyName": "kind"}));
    assert_eq!(
        c["parameters"]["Limit"],
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32"}})
    );
    assert_eq!(
        c["requestBodies"]["NewPet"],
        json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}})
    );
    assert_eq!(
        c["securitySchemes"]["basic"],
        json!({"type": "http", "scheme": "basic"})
    );
    assert_eq!(
        c["securitySchemes"]["oauth"]["flows"],
        json!({"clientCredentials": {"tokenUrl": "https://t", "scopes": {"read": "r"}}})
    );
    assert_eq!(doc["security"], json!([{"key": []}]));
    let list = &doc["paths"]["/pets"]["get"];
    assert_eq!(list["parameters"][0], json!({"$ref": "#/components/parameters/Limit"}));
    assert_eq!(list["parameters"][1]["explode"], json!(true));
    assert_eq!(list["parameters"][2]["style"], json!("form"));
    assert_eq!(list["parameters"][2]["explode"], json!(false));
    let ok = &list["responses"]["200"];
    assert_eq!(
        ok["content"]["application/json"]["schema"]["items"],
        json!({"$ref": "#/components/schemas/Pet"})
    );
    assert_eq!(ok["headers"]["X-Next"], json!({"schema": {"type": "string"}}));
    assert_eq!(
        doc["paths"]["/pets"]["post"]["requestBody"],
        json!({"$ref": "#/components/requestBodies/NewPet"})
    );
    let upload = &doc["paths"]["/pets/{id}/photo"];
    assert_eq!(upload["parameters"][0]["schema"], json!({"type": "string"}));
    let form = &upload["put"]["requestBody"]["content"]["multipart/form-data"]["schema"];
    assert_eq!(
        form["properties"]["file"],
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(form["required"], json!(["file"]));
    assert_eq!(upgrade(&mut doc).ok(), Some(0), "a 3.0 document is left alone");
}

#[test]
fn url_encoded_forms_and_a_document_without_a_host() {
    let mut doc = json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/api",
        "paths": {"/login": {"post": {"consumes": ["application/x-www-form-urlencoded"],
            "parameters": [{"name": "user", "in": "formData", "type": "string", "required": true}],
            "responses": {"200": {"description": "ok"}}}}}});
    assert_eq!(upgrade(&mut doc).ok(), Some(1));
    assert_eq!(doc["servers"], json!([{"url": "/api"}]));
    let body = &doc["paths"]["/login"]["post"]["requestBody"];
    assert_eq!(
        body["content"]["application/x-www-form-urlencoded"]["schema"]["required"],
        json!(["user"])
    );
}

#[test]
fn another_swagger_version_is_an_error_naming_it() {
    let mut doc = json!({"swagger": "1.2", "paths": {}});
    let err = upgrade(&mut doc).expect_err("refused");
    assert_eq!(err.pointer, "/swagger");
    assert!(err.message.contains("\"1.2\""), "{}", err.message);
}
