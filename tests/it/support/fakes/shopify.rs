//! A local server answering as shopify documents (in progress).
