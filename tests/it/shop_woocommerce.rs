//! The woocommerce connector against a local server answering as woocommerce documents (in progress).
