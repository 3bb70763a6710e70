//! The attachment sweep against an import of the same content (blobs are content-addressed, so
//! the import reuses the file): the import stores the blob, a deletion sweeps the last other
//! message using it before the import's batch is filed, then the batch is filed. The file must
//! still be there. A blob nothing touched since its last user was filed is still swept at once
//! (deleting removes the blobs), and an import whose file has gone writes it again. On both
//! dialects.

use std::time::{Duration, SystemTime};

use guichet::store::{BLOB_SWEEP_GRACE, Store};

use crate::store::{incoming, parsed};
use crate::support::store_tests;

const T0: i64 = 1_790_000_000_000;
const PHOTO: &[u8] = b"\xff\xd8\xff\xe0 the same photo, twice";

/// Makes the blob look untouched for longer than the grace period.
fn age(store: &Store, hash: &str) {
    let old = SystemTime::now() - BLOB_SWEEP_GRACE - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(store.blobs().path_of(hash).unwrap())
        .unwrap()
        .set_modified(old)
        .unwrap();
}

async fn first_message_id(store: &Store, shop_id: i64) -> i64 {
    let number = store.tickets(Some(shop_id)).await.unwrap()[0].number;
    store.ticket(shop_id, number).await.unwrap().1[0].id
}

async fn sweep_spares_a_blob_an_import_reuses(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let first = incoming(
        &store,
        parsed("p1@client.test", "ann@client.test", "Photo", T0),
        &[PHOTO],
    );
    let hash = first.attachments[0].blob_hash.clone();
    store
        .file_batch(shop.id, None, None, None, &[first])
        .await
        .unwrap();
    // The blob has been there a while when the same content comes again.
    age(&store, &hash);
    let first_id = first_message_id(&store, shop.id).await;

    // The import has put the content (reusing the file), not yet filed its batch...
    let second = incoming(
        &store,
        parsed("p2@client.test", "bob@client.test", "Même photo", T0 + 1),
        &[PHOTO],
    );
    assert_eq!(second.attachments[0].blob_hash, hash);
    // ...when the only message referencing it is deleted and its blobs swept.
    store.delete_message(first_id).await.unwrap();
    store
        .file_batch(shop.id, None, None, None, &[second])
        .await
        .unwrap();
    assert_eq!(
        store
            .blobs()
            .get(&hash)
            .await
            .expect("the reused blob is still there"),
        PHOTO
    );

    // Untouched since its last user was filed: swept with it.
    let second_id = first_message_id(&store, shop.id).await;
    store.delete_message(second_id).await.unwrap();
    assert!(
        !store.blobs().path_of(&hash).unwrap().exists(),
        "an old unused blob is removed"
    );

    // An import whose blob file has gone writes it again.
    let third = incoming(
        &store,
        parsed("p3@client.test", "cy@client.test", "Encore", T0 + 2),
        &[PHOTO],
    );
    assert_eq!(
        store
            .blobs()
            .get(&third.attachments[0].blob_hash)
            .await
            .unwrap(),
        PHOTO
    );
}

store_tests!(sweep_spares_a_blob_an_import_reuses =>
    blob_sweep_spares_reused_blob_sqlite, blob_sweep_spares_reused_blob_postgres);
