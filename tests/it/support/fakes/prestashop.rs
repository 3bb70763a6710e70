//! A local server answering as prestashop documents (in progress).
