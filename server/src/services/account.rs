//! The `calculator.v1.Account` gRPC service.

use rpc_lab::proto::calculator_v1::account_server::{Account, AccountServer};
use rpc_lab::proto::calculator_v1::{AmountRequest, Balance, GetBalanceRequest};
use tonic::{Request, Response, Status};

use super::session;
use crate::rules::ledger::Ledger;

#[derive(Clone, Copy, Debug, Default)]
pub struct AccountService;

impl AccountService {
    pub fn into_server(self) -> AccountServer<Self> {
        AccountServer::new(self)
    }
}

#[tonic::async_trait]
impl Account for AccountService {
    async fn deposit(&self, request: Request<AmountRequest>) -> Result<Response<Balance>, Status> {
        move_money(request, Ledger::deposit)
    }

    async fn withdraw(&self, request: Request<AmountRequest>) -> Result<Response<Balance>, Status> {
        move_money(request, Ledger::withdraw)
    }

    async fn get_balance(
        &self,
        request: Request<GetBalanceRequest>,
    ) -> Result<Response<Balance>, Status> {
        let session = session(&request)?;
        let GetBalanceRequest { account } = request.into_inner();
        let balance_cents = session.data.lock().unwrap().ledger.balance(&account)?;
        Ok(Response::new(Balance {
            account,
            balance_cents,
        }))
    }
}

/// Deposit and Withdraw differ only in the ledger rule they apply.
fn move_money(
    request: Request<AmountRequest>,
    rule: fn(&mut Ledger, &str, i64) -> Result<i64, Status>,
) -> Result<Response<Balance>, Status> {
    let session = session(&request)?;
    let AmountRequest {
        account,
        amount_cents,
    } = request.into_inner();
    let balance_cents = rule(
        &mut session.data.lock().unwrap().ledger,
        &account,
        amount_cents,
    )?;
    Ok(Response::new(Balance {
        account,
        balance_cents,
    }))
}
