"""What `make contracts` writes from the code: the committed schemas, the
OpenAPI document and template.yaml's per-step resources."""
