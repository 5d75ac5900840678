//! One copy of tonic's call machinery for all of the page's calls.
//!
//! tonic's generated clients are generic over the message types: each
//! method compiles its own copy of `Grpc::unary` or `Grpc::server_streaming`,
//! of the `Streaming<T>` that reads the reply's frames, and of the
//! `ProstCodec<Request, Reply>` between them — the same code again for every
//! RPC the page makes, and the page is downloaded by every student.
//!
//! Here tonic carries bytes: [`Raw`] is a codec whose messages are already
//! encoded, so tonic's machinery is compiled once, and prost's per-message
//! `encode`/`decode` (needed in any case) runs at the edges. The bytes on the
//! wire are the same as a generated client's, and so are the metadata (the
//! session, the key, `grpc-timeout`, the faults), the statuses, and the
//! `INTERNAL` status a reply that does not decode becomes.

use prost::Message;
use prost::bytes::{Buf, BufMut, Bytes};
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder, Streaming};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Request, Response, Status};
use tonic_web_wasm_client::Client;

/// The codec of already-encoded messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

/// A reply's message, as tonic's prost codec would have decoded it.
fn decode<M: Message + Default>(bytes: Bytes) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| Status::internal(e.to_string()))
}

/// A client over `transport`, ready to call (as a generated client's
/// methods wait for it).
async fn ready(transport: Client) -> Result<Grpc<Client>, Status> {
    let mut grpc = Grpc::new(transport);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
    Ok(grpc)
}

/// A method's path (`/calculator.v1.Account/Withdraw`), checked.
fn method(path: &str) -> Result<PathAndQuery, Status> {
    PathAndQuery::try_from(path).map_err(|_| Status::internal(format!("not a method: {path}")))
}

/// The one compiled unary call: `request`'s encoded message to `path`.
async fn unary_raw(
    transport: Client,
    path: &str,
    request: Request<Vec<u8>>,
) -> Result<Response<Bytes>, Status> {
    let path = method(path)?;
    ready(transport).await?.unary(request, path, Raw).await
}

/// Calls the unary method `path` (`/calculator.v1.Account/Withdraw`).
pub async fn unary<Req: Message, Reply: Message + Default>(
    transport: Client,
    path: &str,
    request: Request<Req>,
) -> Result<Response<Reply>, Status> {
    let reply = unary_raw(transport, path, request.map(|m| m.encode_to_vec())).await?;
    let (metadata, bytes, extensions) = reply.into_parts();
    Ok(Response::from_parts(metadata, decode(bytes)?, extensions))
}

/// A server stream's messages, decoded one by one.
pub struct Stream<M> {
    inner: Streaming<Bytes>,
    message: std::marker::PhantomData<M>,
}

impl<M: Message + Default> Stream<M> {
    /// The next message; `None` when the stream ended well.
    pub async fn message(&mut self) -> Result<Option<M>, Status> {
        match self.inner.message().await? {
            Some(bytes) => decode(bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// The one compiled server-streaming call.
async fn server_streaming_raw(
    transport: Client,
    path: &str,
    request: Request<Vec<u8>>,
) -> Result<Response<Streaming<Bytes>>, Status> {
    let path = method(path)?;
    ready(transport)
        .await?
        .server_streaming(request, path, Raw)
        .await
}

/// Calls the server-streaming method `path`.
pub async fn server_streaming<Req: Message, M: Message + Default>(
    transport: Client,
    path: &str,
    request: Request<Req>,
) -> Result<Response<Stream<M>>, Status> {
    let request = request.map(|m| m.encode_to_vec());
    let reply = server_streaming_raw(transport, path, request).await?;
    Ok(reply.map(|inner| Stream {
        inner,
        message: std::marker::PhantomData,
    }))
}
