//! The server-fault sliders: what the server should do to this tab's requests.
//!
//! Each change is sent as the contract's fault headers on the next attempts;
//! the server itself is not reconfigured, so other tabs are unaffected.

use yew::prelude::*;

use super::fields::{SelectField, SliderField};
use crate::faults::{FaultSettings, HANG_MS, Outage};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub faults: FaultSettings,
    #[prop_or_default]
    pub disabled: bool,
    pub on_change: Callback<FaultSettings>,
}

#[component]
pub fn FaultControls(props: &Props) -> Html {
    let faults = &props.faults;
    let set = |update: fn(&mut FaultSettings, f64)| {
        let (faults, on_change) = (faults.clone(), props.on_change.clone());
        Callback::from(move |value: f64| {
            let mut next = faults.clone();
            update(&mut next, value);
            on_change.emit(next);
        })
    };
    let on_outage = {
        let (faults, on_change) = (faults.clone(), props.on_change.clone());
        Callback::from(move |value: String| {
            let outage = match value.as_str() {
                "refusing" => Outage::Refusing,
                "hanging" => Outage::Hanging,
                _ => Outage::Off,
            };
            on_change.emit(FaultSettings {
                outage,
                ..faults.clone()
            });
        })
    };
    let outage_value = match faults.outage {
        Outage::Off => "off",
        Outage::Refusing => "refusing",
        Outage::Hanging => "hanging",
    };
    let sliders_off = props.disabled || faults.outage != Outage::Off;
    html! {
        <fieldset class="lab-fieldset" data-testid="fault-controls">
            <legend>{ "Server faults" }</legend>
            <SliderField id="fail" label="Fail before executing" unit="%" min={0.0} max={100.0}
                value={f64::from(faults.fail_pct)} disabled={sliders_off}
                hint="UNAVAILABLE before the operation runs: nothing happened, a retry is safe."
                on_change={set(|f, v| f.fail_pct = v as u32)} />
            <SliderField id="drop" label="Execute, then lose the reply" unit="%" min={0.0} max={100.0}
                value={f64::from(faults.drop_pct)} disabled={sliders_off}
                hint="The operation runs, the reply is lost: the client sees UNAVAILABLE and cannot tell."
                on_change={set(|f, v| f.drop_pct = v as u32)} />
            <SliderField id="delay" label="Delay" unit="ms" min={0.0} max={3000.0} step={10.0}
                value={f64::from(faults.delay_ms)} disabled={sliders_off}
                hint="The server waits this long before executing."
                on_change={set(|f, v| f.delay_ms = v as u32)} />
            <SliderField id="delay-jitter" label="Delay jitter" unit="ms" min={0.0} max={2000.0} step={10.0}
                value={f64::from(faults.delay_jitter_ms)} disabled={sliders_off}
                hint="Plus a random 0 to this much, per request: a latency distribution, not one number."
                on_change={set(|f, v| f.delay_jitter_ms = v as u32)} />
            <SliderField id="delay-share" label="Requests delayed" unit="%" min={0.0} max={100.0}
                value={f64::from(faults.delay_pct)} disabled={sliders_off}
                hint="Delay only this share of requests: a few slow ones among fast ones."
                on_change={set(|f, v| f.delay_pct = v as u32)} />
            <SelectField id="outage" label="Outage" selected={outage_value} disabled={props.disabled}
                hint={format!("A service that is down either refuses at once or hangs ({} s) until the caller gives up.", HANG_MS / 1000)}
                choices={vec![
                    ("off".into(), "off: the server is up".into()),
                    ("refusing".into(), "refusing: every request fails at once".into()),
                    ("hanging".into(), "hanging: every request waits".into()),
                ]}
                on_change={on_outage} />
        </fieldset>
    }
}
