//! The server-fault sliders: what the server should do to this tab's requests.
//!
//! Each change is sent as the contract's fault headers on the next attempts;
//! the server itself is not reconfigured, so other tabs are unaffected. The
//! sliders come in three foldable groups (failures, delays, outage) whose
//! headings say what is set, so the controls fit beside the plots.

use yew::prelude::*;

use super::fields::{ControlGroup, SelectField, SliderField};
use crate::faults::{FaultSettings, HANG_MS, Outage};
use crate::plot_scale::format_ms;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub faults: FaultSettings,
    #[prop_or_default]
    pub disabled: bool,
    pub on_change: Callback<FaultSettings>,
}

/// "10 % refused, 30 % replies lost", or "none".
fn failures_state(f: &FaultSettings) -> String {
    match (f.fail_pct, f.drop_pct) {
        (0, 0) => "none".to_owned(),
        (fail, 0) => format!("{fail} % refused"),
        (0, drop) => format!("{drop} % replies lost"),
        (fail, drop) => format!("{fail} % refused, {drop} % replies lost"),
    }
}

/// "20 ms + up to 280 ms, 100 % of requests", or "none".
fn delays_state(f: &FaultSettings) -> String {
    if f.delay_ms + f.delay_jitter_ms == 0 || f.delay_pct == 0 {
        return "none".to_owned();
    }
    let mut text = format_ms(f64::from(f.delay_ms));
    if f.delay_jitter_ms > 0 {
        text.push_str(&format!(
            " + up to {}",
            format_ms(f64::from(f.delay_jitter_ms))
        ));
    }
    format!("{text}, {} % of requests", f.delay_pct)
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
            <ControlGroup id="failures" title="Failures" state={failures_state(faults)} open={true}>
            <SliderField id="fail" label="Fail before executing" unit="%" min={0.0} max={100.0}
                value={f64::from(faults.fail_pct)} disabled={sliders_off}
                hint="UNAVAILABLE before the operation runs: nothing happened, a retry is safe."
                on_change={set(|f, v| f.fail_pct = v as u32)} />
            <SliderField id="drop" label="Execute, then lose the reply" unit="%" min={0.0} max={100.0}
                value={f64::from(faults.drop_pct)} disabled={sliders_off}
                hint="The operation runs, the reply is lost: the client sees UNAVAILABLE and cannot tell."
                on_change={set(|f, v| f.drop_pct = v as u32)} />
            </ControlGroup>
            <ControlGroup id="delays" title="Delays" state={delays_state(faults)}>
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
            </ControlGroup>
            <ControlGroup id="outage" title="Outage" state={outage_value} open={true}>
            <SelectField id="outage" label="Outage" selected={outage_value} disabled={props.disabled}
                hint={format!("A service that is down either refuses at once or hangs ({} s) until the caller gives up.", HANG_MS / 1000)}
                choices={vec![
                    ("off".into(), "off: the server is up".into()),
                    ("refusing".into(), "refusing: every request fails at once".into()),
                    ("hanging".into(), "hanging: every request waits".into()),
                ]}
                on_change={on_outage} />
            </ControlGroup>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_fault_groups_say_what_is_set() {
        let mut f = FaultSettings::default();
        assert_eq!(
            (failures_state(&f), delays_state(&f)),
            ("none".into(), "none".into())
        );
        f.fail_pct = 10;
        f.drop_pct = 30;
        f.delay_ms = 20;
        f.delay_jitter_ms = 280;
        f.delay_pct = 100;
        assert_eq!(failures_state(&f), "10 % refused, 30 % replies lost");
        assert_eq!(delays_state(&f), "20 ms + up to 280 ms, 100 % of requests");
    }
}
