//! Shop data served from the store and the platforms: cache, fallbacks, webhooks (in progress).
