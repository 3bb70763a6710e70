//! The shopify connector against a local server answering as shopify documents (in progress).
