//! The server-fault sliders: what the server should do to this tab's requests.
//!
//! Each change is sent as the contract's fault headers on the next attempts;
//! the server itself is not reconfigured, so other tabs are unaffected. The
//! sliders come in three foldable groups (failures, delays, outage) whose
//! headings say what is set, so the controls fit beside the plots.

use yew::prelude::*;

use super::fields::{ControlGroup, SelectField, Slider};
use crate::faults::{FaultSettings, HANG_MS, Outage};
use crate::plot_scale::format_ms;

/// The fault controls, drawn by [`FaultControls::view`].
pub struct FaultControls {
    pub faults: FaultSettings,
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

impl FaultControls {
    pub fn view(&self) -> Html {
        let faults = &self.faults;
        let set = |update: fn(&mut FaultSettings, f64)| {
            let (faults, on_change) = (faults.clone(), self.on_change.clone());
            Callback::from(move |value: f64| {
                let mut next = faults.clone();
                update(&mut next, value);
                on_change.emit(next);
            })
        };
        let on_outage = {
            let (faults, on_change) = (faults.clone(), self.on_change.clone());
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
        let sliders_off = self.disabled || faults.outage != Outage::Off;
        // A share of requests, 0–100 %.
        let percent = |id, label, hint, value: u32, update| Slider {
            id,
            label,
            hint,
            value: f64::from(value),
            min: 0.0,
            max: 100.0,
            step: 1.0,
            unit: "%",
            disabled: sliders_off,
            on_change: set(update),
        };
        // A time, in steps of 10 ms.
        let millis = |id, label, hint, value: u32, max, update| Slider {
            id,
            label,
            hint,
            value: f64::from(value),
            min: 0.0,
            max,
            step: 10.0,
            unit: "ms",
            disabled: sliders_off,
            on_change: set(update),
        };
        html! {
            <fieldset class="lab-fieldset" data-testid="fault-controls">
                <legend>{ "Server faults" }</legend>
                { ControlGroup {
                    id: "failures".into(),
                    title: "Failures",
                    state: failures_state(faults),
                    open: true,
                    children: html! { <>
                { percent("fail", "Fail before executing",
                    "UNAVAILABLE before the operation runs: nothing happened, a retry is safe.",
                    faults.fail_pct, |f, v| f.fail_pct = v as u32).view() }
                { percent("drop", "Execute, then lose the reply",
                    "The operation runs, the reply is lost: the client sees UNAVAILABLE and cannot tell.",
                    faults.drop_pct, |f, v| f.drop_pct = v as u32).view() }
                                </> },
                }.view() }
                { ControlGroup {
                    id: "delays".into(),
                    title: "Delays",
                    state: delays_state(faults),
                    children: html! { <>
                { millis("delay", "Delay", "The server waits this long before executing.",
                    faults.delay_ms, 3000.0, |f, v| f.delay_ms = v as u32).view() }
                { millis("delay-jitter", "Delay jitter",
                    "Plus a random 0 to this much, per request: a latency distribution, not one number.",
                    faults.delay_jitter_ms, 2000.0, |f, v| f.delay_jitter_ms = v as u32).view() }
                { percent("delay-share", "Requests delayed",
                    "Delay only this share of requests: a few slow ones among fast ones.",
                    faults.delay_pct, |f, v| f.delay_pct = v as u32).view() }
                                </> },
                    ..Default::default()
                }.view() }
                { ControlGroup {
                    id: "outage".into(),
                    title: "Outage",
                    state: outage_value.into(),
                    open: true,
                    children: html! { <>
                <SelectField id="outage" label="Outage" selected={outage_value} disabled={self.disabled}
                    hint={format!("A service that is down either refuses at once or hangs ({} s) until the caller gives up.", HANG_MS / 1000)}
                    choices={vec![
                        ("off".into(), "off: the server is up".into()),
                        ("refusing".into(), "refusing: every request fails at once".into()),
                        ("hanging".into(), "hanging: every request waits".into()),
                    ]}
                    on_change={on_outage} />
                                </> },
                }.view() }
            </fieldset>
        }
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
