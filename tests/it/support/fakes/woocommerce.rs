//! A local server answering as woocommerce documents (in progress).
