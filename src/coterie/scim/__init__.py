"""SCIM 2.0 (RFC 7643 / RFC 7644) at `/scim/v2`, for identity providers to provision people and
groups; authenticated by a workspace's SCIM token, and outside the JSON API's OpenAPI."""
