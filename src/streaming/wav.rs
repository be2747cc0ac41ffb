//! The audio the origin serves: a RIFF/WAVE file (PCM, 16-bit, mono) synthesised on the fly.
//!
//! WAV is the one format whose bitrate is exact (160 kbps is 10,000 samples a second of 16 bits)
//! and that every browser plays, and since every sample is a pure function of the track and its
//! index, any byte range of the file is computed directly, in time proportional to its length,
//! without the file ever existing. The music is a quiet, deterministic tune per track: a walk
//! over a major pentatonic scale whose key, tempo and notes are drawn from the seeded generator
//! keyed by a hash of the track id, each note shaped by a short raised-cosine fade in and out
//! (no clicks) and a gentle decay.

use std::f64::consts::{PI, TAU};
use std::ops::Range;

use rand::Rng;

use crate::ids::Id;
use crate::reproducible::{fnv1a_64, seeded_rng};

/// Length of the RIFF header before the samples.
pub const HEADER_LEN: u64 = 44;
/// Bytes per sample: 16-bit mono.
const BYTES_PER_SAMPLE: u64 = 2;
/// The data chunk's size is a `u32`, and so is the RIFF size (data + 36): longer tracks are cut.
const MAX_DATA_LEN: u64 = (u32::MAX as u64 - 36) & !1;
/// Lowest bitrate synthesised (1,000 samples a second); lower asks are raised to it.
const MIN_KBPS: u32 = 16;
/// Notes in a track's phrase, repeated for the whole track.
const PHRASE: usize = 16;
/// Semitones of the major pentatonic scale, up to a tenth.
const SCALE: [i32; 8] = [0, 2, 4, 7, 9, 12, 14, 16];
/// The keys a tune may be in: G3 to D4, in Hz. The highest note (D4 and a tenth, 740 Hz) and
/// its third overtone (2.2 kHz) stay under the Nyquist frequency of the lowest rate (3 kHz).
const ROOTS_HZ: [f64; 5] = [196.00, 220.00, 246.94, 261.63, 293.66];
/// Note lengths a tune may have, in milliseconds.
const NOTE_MS: [u64; 5] = [250, 300, 375, 450, 500];
/// Fade in and out of each note, and of the end of the track, in milliseconds.
const FADE_IN_MS: u64 = 8;
const FADE_OUT_MS: u64 = 30;
const TRACK_FADE_MS: u64 = 60;
/// Peak amplitude: about a quarter of full scale, so it is quiet.
const AMPLITUDE: f64 = 7_000.0;

/// A track's audio at one bitrate: its length and any of its bytes.
#[derive(Debug, Clone)]
pub struct Wav {
    sample_rate: u32,
    samples: u64,
    tune: Tune,
}

/// What a track sounds like, at one sample rate.
#[derive(Debug, Clone)]
struct Tune {
    /// Each note's frequency, in Hz.
    notes: [f64; PHRASE],
    note_samples: u64,
    fade_in: u64,
    fade_out: u64,
    track_fade: u64,
}

impl Wav {
    /// The audio of `track`, `duration_ms` long, at `kbps` (16 bits a sample, so 160 kbps is
    /// 10,000 Hz; below 16 kbps is raised to 16).
    pub fn new(track: Id, duration_ms: u32, kbps: u32) -> Wav {
        let sample_rate = kbps.max(MIN_KBPS) * 1000 / 16;
        let samples = (u64::from(duration_ms) * u64::from(sample_rate) / 1000).min(MAX_DATA_LEN / BYTES_PER_SAMPLE);
        Wav { sample_rate, samples, tune: Tune::new(track, sample_rate) }
    }

    /// Samples per second.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Length of the whole file in bytes: the header and the samples.
    pub fn byte_len(&self) -> u64 {
        HEADER_LEN + self.data_len()
    }

    fn data_len(&self) -> u64 {
        self.samples * BYTES_PER_SAMPLE
    }

    /// The bytes of the file in `range` (clipped to the file), computed in time proportional
    /// to the range's length.
    pub fn read(&self, range: Range<u64>) -> Vec<u8> {
        let end = range.end.min(self.byte_len());
        let start = range.start.min(end);
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        if start < HEADER_LEN {
            let header = self.header();
            // Both bounds are below 44 here.
            out.extend_from_slice(&header[start as usize..end.min(HEADER_LEN) as usize]);
        }
        // Offsets within the data chunk.
        let data_start = start.max(HEADER_LEN) - HEADER_LEN;
        let data_end = end.max(HEADER_LEN) - HEADER_LEN;
        if data_start < data_end {
            let first = data_start / BYTES_PER_SAMPLE;
            let last = (data_end - 1) / BYTES_PER_SAMPLE;
            for index in first..=last {
                let bytes = self.sample(index).to_le_bytes();
                let offset = index * BYTES_PER_SAMPLE;
                for (k, byte) in bytes.iter().enumerate() {
                    let at = offset + k as u64;
                    if at >= data_start && at < data_end {
                        out.push(*byte);
                    }
                }
            }
        }
        out
    }

    /// The 44-byte RIFF header: `RIFF`, `WAVE`, a PCM `fmt ` chunk and the `data` chunk's head.
    fn header(&self) -> [u8; HEADER_LEN as usize] {
        // `data_len` is capped so that both sizes fit.
        let data_len = self.data_len() as u32;
        let byte_rate = self.sample_rate * BYTES_PER_SAMPLE as u32;
        let mut header = [0u8; HEADER_LEN as usize];
        let fields: [&[u8]; 13] = [
            b"RIFF",
            &(36 + data_len).to_le_bytes(),
            b"WAVE",
            b"fmt ",
            &16u32.to_le_bytes(), // fmt chunk size
            &1u16.to_le_bytes(),  // PCM
            &1u16.to_le_bytes(),  // mono
            &self.sample_rate.to_le_bytes(),
            &byte_rate.to_le_bytes(),
            &(BYTES_PER_SAMPLE as u16).to_le_bytes(), // block align
            &16u16.to_le_bytes(),                     // bits per sample
            b"data",
            &data_len.to_le_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            header[at..at + field.len()].copy_from_slice(field);
            at += field.len();
        }
        header
    }

    /// Sample number `index`.
    fn sample(&self, index: u64) -> i16 {
        let tune = &self.tune;
        let note = (index / tune.note_samples) as usize % PHRASE;
        let within = index % tune.note_samples;
        let t = within as f64 / f64::from(self.sample_rate);
        let phase = TAU * tune.notes[note] * t;
        // A soft timbre: the fundamental and two quiet overtones, all well under Nyquist.
        let wave = phase.sin() + 0.25 * (2.0 * phase).sin() + 0.08 * (3.0 * phase).sin();
        let envelope = fade(within, tune.fade_in)
            * fade(tune.note_samples - within, tune.fade_out)
            * fade(self.samples - index, tune.track_fade)
            * (-2.0 * t).exp();
        let value = wave * envelope * AMPLITUDE / 1.33;
        value.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
    }
}

/// A raised-cosine ramp: 0 at `position` 0, 1 from `length` on.
fn fade(position: u64, length: u64) -> f64 {
    if position >= length { 1.0 } else { 0.5 - 0.5 * (PI * position as f64 / length as f64).cos() }
}

impl Tune {
    fn new(track: Id, sample_rate: u32) -> Tune {
        let mut rng = seeded_rng(fnv1a_64(track.as_str().as_bytes()));
        let root = ROOTS_HZ[rng.random_range(0..ROOTS_HZ.len())];
        let note_ms = NOTE_MS[rng.random_range(0..NOTE_MS.len())];
        // A walk over the scale in small steps, which sounds like a melody more than jumps do.
        let highest = SCALE.len() as i32 - 1;
        let mut degree = rng.random_range(0..=highest);
        let mut notes = [0.0; PHRASE];
        for note in &mut notes {
            *note = root * 2f64.powf(f64::from(SCALE[degree as usize]) / 12.0);
            let step = rng.random_range(-2..=2);
            degree = (degree + step).clamp(0, highest);
        }
        let per_ms = |ms: u64| (ms * u64::from(sample_rate) / 1000).max(1);
        Tune {
            notes,
            note_samples: per_ms(note_ms),
            fade_in: per_ms(FADE_IN_MS),
            fade_out: per_ms(FADE_OUT_MS),
            track_fade: per_ms(TRACK_FADE_MS),
        }
    }
}

/// Length in bytes of `track`'s file of `duration_ms` at `kbps`.
pub fn wav_len(track: Id, duration_ms: u32, kbps: u32) -> u64 {
    Wav::new(track, duration_ms, kbps).byte_len()
}

/// The bytes in `range` of `track`'s file of `duration_ms` at `kbps`.
pub fn wav_bytes(track: Id, duration_ms: u32, kbps: u32, range: Range<u64>) -> Vec<u8> {
    Wav::new(track, duration_ms, kbps).read(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn track(n: u128) -> Id {
        Id::from_u128(n * 7_919 + 12_345)
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
    }

    fn samples(bytes: &[u8]) -> Vec<i16> {
        bytes[HEADER_LEN as usize..].chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect()
    }

    fn rms(samples: &[i16]) -> f64 {
        let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
        (sum / samples.len() as f64).sqrt()
    }

    #[test]
    fn the_header_is_a_valid_pcm_wave_header() {
        for (kbps, rate) in [(96, 6_000), (160, 10_000), (320, 20_000)] {
            let wav = Wav::new(track(1), 2_500, kbps);
            let bytes = wav.read(0..wav.byte_len());
            let samples = u64::from(rate) * 2_500 / 1000;
            assert_eq!(wav.sample_rate(), rate);
            assert_eq!(bytes.len() as u64, 44 + samples * 2);
            assert_eq!(wav.byte_len(), 44 + samples * 2);
            assert_eq!(wav_len(track(1), 2_500, kbps), 44 + samples * 2);
            assert_eq!(&bytes[0..4], b"RIFF");
            assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8);
            assert_eq!(&bytes[8..12], b"WAVE");
            assert_eq!(&bytes[12..16], b"fmt ");
            assert_eq!(u32_at(&bytes, 16), 16);
            assert_eq!(u16_at(&bytes, 20), 1, "PCM");
            assert_eq!(u16_at(&bytes, 22), 1, "mono");
            assert_eq!(u32_at(&bytes, 24), rate);
            assert_eq!(u32_at(&bytes, 28), rate * 2, "byte rate");
            assert_eq!(u32_at(&bytes, 28) * 8 / 1000, kbps, "the bitrate is exact");
            assert_eq!(u16_at(&bytes, 32), 2, "block align");
            assert_eq!(u16_at(&bytes, 34), 16, "bits per sample");
            assert_eq!(&bytes[36..40], b"data");
            assert_eq!(u64::from(u32_at(&bytes, 40)), samples * 2);
        }
    }

    #[test]
    fn the_length_follows_the_duration() {
        let id = track(2);
        assert_eq!(wav_len(id, 0, 160), 44);
        assert_eq!(wav_len(id, 1, 160), 44 + 10 * 2);
        assert_eq!(wav_len(id, 180_000, 160), 44 + 1_800_000 * 2);
        assert_eq!(wav_len(id, 180_000, 320), 44 + 3_600_000 * 2);
        assert_eq!(wav_len(id, 180_000, 96), 44 + 1_080_000 * 2);
        // 160 kbps of samples plus the header: 20,000 bytes a second.
        assert_eq!((wav_len(id, 60_000, 160) - 44) / 60, 20_000);
        // The longest track still has sizes that fit the header's 32-bit fields.
        let longest = Wav::new(id, u32::MAX, 320);
        let header = longest.read(0..44);
        assert_eq!(u64::from(u32_at(&header, 40)) + 44, longest.byte_len());
        assert!(longest.byte_len() - 8 <= u64::from(u32::MAX));
        assert_eq!(longest.read(longest.byte_len() - 3..u64::MAX).len(), 3);
    }

    #[test]
    fn any_range_is_the_same_slice_of_the_whole_file() {
        let mut rng = rand::rng();
        for kbps in [96, 160, 320] {
            let id = track(kbps.into());
            let whole = wav_bytes(id, 700, kbps, 0..u64::MAX);
            let len = whole.len() as u64;
            assert_eq!(len, wav_len(id, 700, kbps));
            for _ in 0..500 {
                let start = rng.random_range(0..=len);
                let end = rng.random_range(start..=len);
                assert_eq!(
                    wav_bytes(id, 700, kbps, start..end),
                    &whole[start as usize..end as usize],
                    "{kbps} kbps, {start}..{end}"
                );
            }
            for (start, end) in [(0u64, 1u64), (0, 44), (43, 45), (44, 45), (45, 46), (45, 47)] {
                assert_eq!(wav_bytes(id, 700, kbps, start..end), &whole[start as usize..end as usize]);
            }
            // Past the end is clipped, an inverted range is empty.
            assert_eq!(wav_bytes(id, 700, kbps, len - 1..len + 10), &whole[len as usize - 1..]);
            #[allow(clippy::reversed_empty_ranges)]
            let inverted = 10..5;
            assert!(wav_bytes(id, 700, kbps, inverted).is_empty());
        }
    }

    #[test]
    fn the_audio_is_audible_quiet_and_differs_between_tracks() {
        let a = samples(&wav_bytes(track(3), 4_000, 160, 0..u64::MAX));
        let b = samples(&wav_bytes(track(4), 4_000, 160, 0..u64::MAX));
        for samples in [&a, &b] {
            let rms = rms(samples);
            assert!(rms > 500.0, "audible: rms {rms}");
            let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!(peak < 16_384, "quiet: peak {peak}");
            // No click at the start or the end.
            assert!(samples[0].unsigned_abs() < 100 && samples[samples.len() - 1].unsigned_abs() < 100);
        }
        assert_ne!(a, b);
        // And it is the same every time.
        assert_eq!(a, samples(&wav_bytes(track(3), 4_000, 160, 0..u64::MAX)));
    }

    #[test]
    fn every_note_fades_in_from_and_out_to_silence() {
        // A click is a jump at a note boundary: the samples around every boundary are near 0.
        let wav = Wav::new(track(5), 5_000, 160);
        let samples = samples(&wav.read(0..u64::MAX));
        let note = wav.tune.note_samples as usize;
        assert!(samples.len() > 4 * note, "several notes");
        for boundary in (note..samples.len()).step_by(note) {
            for index in [boundary - 1, boundary] {
                assert!(samples[index].unsigned_abs() < 200, "sample {index}: {}", samples[index]);
            }
        }
    }
}
