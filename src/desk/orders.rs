//! Orders brought in by a CSV file, for shops whose platform has no connector.

use crate::shop::platform::Platform;
use crate::shop::{ImportError, ImportReport, import_orders_csv, read_customers_csv};
use crate::store::Shop;

use super::{Desk, DeskError, DeskResult};

impl Desk {
    /// Imports the good rows of an orders CSV; the report names each skipped row.
    pub async fn import_orders(&self, shop: &Shop, content: &[u8]) -> DeskResult<ImportReport> {
        import_orders_csv(&self.store, shop.id, content)
            .await
            .map_err(|e| match e {
                ImportError::Csv(error) => DeskError::Csv(error),
                ImportError::Store(error) => error.into(),
            })
    }

    /// Imports the good rows of a customers CSV (`guichet shop import --customers`); a known
    /// address is updated.
    pub async fn import_customers(&self, shop: &Shop, content: &[u8]) -> DeskResult<ImportReport> {
        let file = read_customers_csv(content).map_err(DeskError::Csv)?;
        let imported = self
            .store
            .store_customers(shop.id, Platform::Csv, &file.customers)
            .await?;
        Ok(ImportReport {
            imported,
            rejected: file.rejected,
        })
    }
}
