//! The prestashop connector against a local server answering as prestashop documents (in progress).
