"""The cascade lesson's two tiers (shop.v1.Shop/Checkout and its payment
dependency), as a stock grpcio client drives them: Lab/SetPaymentTier says
back what it stored or names the field it refused, a Checkout is charged
through the front tier's client, the bulkhead refuses cleanly, and
ResetSession forgets the tier."""

import sys
import tempfile
import uuid

import grpc
import pytest

from conftest import REPO


@pytest.fixture(scope="session")
def shop():
    """Stubs for shop.proto, generated as a student would (the shared
    fixture generates the calculator package only)."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="rpc-lab-shop-stubs-")
    args = ["protoc", f"-I{REPO}/proto", f"--python_out={out}", f"--grpc_python_out={out}"]
    assert protoc.main(args + ["shop/v1/shop.proto"]) == 0, "protoc failed"
    sys.path.insert(0, out)
    from shop.v1 import shop_pb2, shop_pb2_grpc  # noqa: E402

    return shop_pb2, shop_pb2_grpc


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def one_attempt(lab_pb, timeout_ms):
    # The core checks backoff settings even for one attempt.
    return lab_pb.LoadPolicy(
        max_attempts=1,
        initial_backoff_ms=10,
        max_backoff_ms=100,
        backoff_multiplier=2.0,
        attempt_timeout_ms=timeout_ms,
    )


def test_set_payment_tier_then_a_checkout_is_charged(stubs, shop, channel):
    lab_pb, lab_rpc = stubs["lab"]
    shop_pb, shop_rpc = shop
    lab = lab_rpc.LabStub(channel)
    checkout = shop_rpc.ShopStub(channel).Checkout
    md = session("tier")

    tier = lab_pb.PaymentTier(
        capacity=lab_pb.Capacity(workers=2, queue=10, service_ms=5),
        client=one_attempt(lab_pb, 500),
        bulkhead=3,
    )
    stored = lab.SetPaymentTier(lab_pb.SetPaymentTierRequest(payment_tier=tier), metadata=md)
    assert stored.capacity.workers == 2 and stored.capacity.service_ms == 5
    assert stored.client.attempt_timeout_ms == 500
    assert stored.HasField("bulkhead") and stored.bulkhead == 3
    assert not stored.client.HasField("breaker")

    reply = checkout(shop_pb.CheckoutRequest(amount_cents=250), metadata=md, timeout=5)
    assert reply.payment_attempts == 1
    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert stats.checkouts_paid == 1
    assert stats.checkouts_waiting_on_payment == 0
    assert stats.executions["/shop.v1.Shop/Checkout"] == 1
    assert stats.executions["/shop.v1.Payment/Charge"] == 1


def test_a_bad_value_is_invalid_argument_naming_the_field(stubs, channel):
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)
    tier = lab_pb.PaymentTier(capacity=lab_pb.Capacity(queue=4_000_000_000))
    with pytest.raises(grpc.RpcError) as refused:
        lab.SetPaymentTier(lab_pb.SetPaymentTierRequest(payment_tier=tier), metadata=session("bad"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("payment_tier.capacity.queue"), refused.value.details()


def test_a_full_bulkhead_refuses_cleanly_and_reset_forgets_the_tier(stubs, shop, channel):
    lab_pb, lab_rpc = stubs["lab"]
    shop_pb, shop_rpc = shop
    lab = lab_rpc.LabStub(channel)
    checkout = shop_rpc.ShopStub(channel).Checkout
    md = session("bulkhead")

    lab.SetPaymentTier(
        lab_pb.SetPaymentTierRequest(payment_tier=lab_pb.PaymentTier(bulkhead=0)), metadata=md
    )
    with pytest.raises(grpc.RpcError) as refused:
        checkout(shop_pb.CheckoutRequest(amount_cents=100), metadata=md, timeout=5)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "bulkhead full" in refused.value.details()
    assert lab.GetStats(lab_pb.GetStatsRequest(), metadata=md).checkouts_bulkhead_full == 1

    lab.ResetSession(lab_pb.ResetSessionRequest(), metadata=md)
    assert checkout(shop_pb.CheckoutRequest(amount_cents=100), metadata=md, timeout=5).payment_attempts == 1
    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert (stats.checkouts_paid, stats.checkouts_bulkhead_full) == (1, 0)


def test_a_load_run_reports_the_front_tiers_breaker(stubs, channel):
    """LoadSnapshot.payment_breaker, as grpcio decodes it: CLOSED while the
    front tier's breaker learns from checkouts that time out on a payment
    service with no workers, then OPEN; UNSPECIFIED for a client without one."""
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)

    def states(breaker):
        client = one_attempt(lab_pb, 100)
        if breaker:
            client.breaker.CopyFrom(
                lab_pb.LoadBreaker(
                    window_calls=10,
                    minimum_calls=4,
                    failure_rate_threshold=50,
                    slow_call_ms=60_000,
                    slow_call_rate_threshold=100,
                    wait_in_open_ms=30_000,
                    wait_multiplier=1,
                    max_wait_in_open_ms=30_000,
                    half_open_probes=1,
                )
            )
        scenario = lab_pb.LoadScenario(
            open=lab_pb.OpenLoop(rate_per_second=40),
            duration_ms=1_000,
            operation=lab_pb.LOAD_OPERATION_CHECKOUT,
            policy=one_attempt(lab_pb, 2_000),
            payment_tier=lab_pb.PaymentTier(
                # No workers for the whole run: payment hangs.
                capacity=lab_pb.Capacity(
                    workers=1,
                    queue=100,
                    abandoned_work=lab_pb.ABANDONED_WORK_CANCEL_ON_HANGUP,
                    brownout=lab_pb.Brownout(start_ms=0, end_ms=60_000, workers=0),
                ),
                client=client,
            ),
            seed=1,
        )
        seen = []
        for snapshot in lab.RunLoad(scenario, metadata=session("breaker-state"), timeout=30):
            if not seen or seen[-1] != snapshot.payment_breaker:
                seen.append(snapshot.payment_breaker)
        return seen

    assert states(False) == [lab_pb.PAYMENT_BREAKER_STATE_UNSPECIFIED]
    assert states(True) == [lab_pb.PAYMENT_BREAKER_STATE_CLOSED, lab_pb.PAYMENT_BREAKER_STATE_OPEN]


def test_a_checkout_left_waiting_on_payment_is_counted_abandoned(stubs, shop, channel):
    """A shopper that gives up while its checkout waits on payment (front
    tier CANCEL_ON_HANGUP): grpcio's deadline hangs up, the server stops the
    handler part-way and counts it once — an abandoned checkout, an
    interrupted execution, not a cancelled-before-it-ran one."""
    import time

    lab_pb, lab_rpc = stubs["lab"]
    shop_pb, shop_rpc = shop
    lab = lab_rpc.LabStub(channel)
    md = session("abandoned")
    lab.SetCapacity(
        lab_pb.SetCapacityRequest(
            capacity=lab_pb.Capacity(workers=2, queue=10, abandoned_work=lab_pb.ABANDONED_WORK_CANCEL_ON_HANGUP)
        ),
        metadata=md,
    )
    hanging = lab_pb.Capacity(workers=1, queue=10, brownout=lab_pb.Brownout(start_ms=0, end_ms=60_000, workers=0))
    lab.SetPaymentTier(
        lab_pb.SetPaymentTierRequest(payment_tier=lab_pb.PaymentTier(capacity=hanging, client=one_attempt(lab_pb, 5_000))),
        metadata=md,
    )
    with pytest.raises(grpc.RpcError) as gave_up:
        shop_rpc.ShopStub(channel).Checkout(shop_pb.CheckoutRequest(amount_cents=100), metadata=md, timeout=0.3)
    assert gave_up.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    give_up = time.monotonic() + 10
    while (stats := lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)).checkouts_abandoned == 0:
        assert time.monotonic() < give_up, f"waited 10 s for the server to notice: {stats}"
        time.sleep(0.005)
    assert stats.checkouts_abandoned == 1
    assert (stats.checkouts_payment_failed, stats.checkouts_waiting_on_payment) == (0, 0)
    assert (stats.executions_interrupted, stats.executions_cancelled, stats.executions_in_flight) == (1, 0, 0)
