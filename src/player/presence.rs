//! Presence: devices attaching and detaching, and a new activation's stale devices going
//! offline. A device that goes offline while it plays stops the playback where it is.

use segue_protocol::ErrorCode;
use segue_protocol::request::MAX_SEQ;

use super::{Device, DeviceInfo, MAX_KNOWN_DEVICES, MAX_ONLINE_DEVICES, Session};
use crate::error::AppError;

impl Session {
    /// Marks offline the online devices whose connection is `stale` (a new activation's devices
    /// whose connections are gone), in one change (with its own `seq`) when there was any; playback
    /// stops only when the active device is among them.
    pub fn offline_where(&mut self, now_ms: u64, stale: impl Fn(u64) -> bool) -> bool {
        let now = now_ms.max(self.clock_ms);
        let was_playing = self.really_playing();
        let accounted = self.playback;
        self.ensure_playback(now);
        self.accrue(now);
        let mut changed = false;
        let mut active_gone = false;
        for device in &mut self.devices {
            if device.online && stale(device.connection) {
                device.online = false;
                device.last_seen_ms = now;
                changed = true;
                active_gone |= self.active_device.as_deref() == Some(device.info.id.as_str());
            }
        }
        if changed {
            if active_gone {
                self.deactivate(now);
            }
            self.after_playback_change(was_playing, super::EndReason::Stop, now);
            self.clock_ms = now;
            self.seq += 1;
        } else {
            self.playback = accounted;
        }
        changed
    }

    pub(super) fn attach(
        &mut self,
        info: DeviceInfo,
        connection: u64,
        last_seq: Option<u64>,
        now: u64,
    ) -> Result<bool, AppError> {
        let online_others = self.devices.iter().filter(|d| d.online && d.info.id != info.id).count();
        if online_others >= MAX_ONLINE_DEVICES {
            return Err(AppError::refusal(
                ErrorCode::TooManyDevices,
                "this user already has the maximum of 10 connected devices",
            ));
        }
        let changed = match self.devices.iter_mut().find(|d| d.info.id == info.id) {
            Some(device) => {
                // A hello without a volume keeps the one the device had.
                let volume_percent = info.volume_percent.or(device.info.volume_percent);
                let info = DeviceInfo { volume_percent, ..info };
                let changed = !device.online || device.info != info;
                device.info = info;
                device.online = true;
                device.connection = connection;
                device.last_seen_ms = now;
                changed
            }
            None => {
                self.forget_oldest_offline_device();
                self.devices.push(Device { info, online: true, connection, last_seen_ms: now });
                true
            }
        };
        // A device that reconnects as a remote control only can no longer be the active one.
        if let Some(active) = &self.active_device
            && !self.device(active).is_some_and(|d| d.info.can_play)
        {
            self.deactivate(now);
        }
        // The device saw a later state than this one, so this one was lost: `seq` moves past what
        // the device saw (the change's own bump follows), and no device ever sees it go back.
        let lost = last_seq.filter(|&seen| seen > self.seq);
        if let Some(seen) = lost {
            self.seq = seen.min(MAX_SEQ);
        }
        Ok(changed || lost.is_some())
    }

    pub(super) fn forget_oldest_offline_device(&mut self) {
        if self.devices.len() < MAX_KNOWN_DEVICES {
            return;
        }
        let oldest = self
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.online)
            .min_by_key(|(_, d)| d.last_seen_ms)
            .map(|(index, _)| index);
        if let Some(index) = oldest {
            self.devices.remove(index);
        }
    }

    pub(super) fn detach(&mut self, device_id: &str, connection: u64, now: u64) -> bool {
        let Some(device) = self.devices.iter_mut().find(|d| d.info.id == device_id) else {
            return false;
        };
        if !device.online || device.connection != connection {
            return false;
        }
        device.online = false;
        device.last_seen_ms = now;
        if self.active_device.as_deref() == Some(device_id) {
            self.deactivate(now);
        }
        true
    }

    /// No device plays any more: playback stops where it is.
    pub(super) fn deactivate(&mut self, now: u64) {
        self.active_device = None;
        if let Some(current) = &mut self.current {
            current.settle(now);
            current.is_playing = false;
        }
    }
}
