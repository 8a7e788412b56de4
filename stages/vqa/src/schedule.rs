//! The learning-rate schedule of the BEiT-3 fine-tuning recipe (`utils.cosine_scheduler`): per
//! optimizer step, a linear warm-up from 0 to the peak, then a half cosine down to a floor.

/// Learning rate of every optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupCosine {
    pub peak: f64,
    pub floor: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl WarmupCosine {
    /// The learning rate of step `step` (0-based). Warm-up is `linspace(0, peak, warmup_steps)`;
    /// the cosine covers the remaining steps and ends at `floor`; past the end it stays there.
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            if self.warmup_steps == 1 {
                return 0.0;
            }
            return self.peak * step as f64 / (self.warmup_steps - 1) as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps);
        if decay_steps == 0 {
            return self.floor;
        }
        let t = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        self.floor + 0.5 * (self.peak - self.floor) * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> WarmupCosine {
        WarmupCosine {
            peak: 1e-3,
            floor: 1e-6,
            warmup_steps: 5,
            total_steps: 25,
        }
    }

    #[test]
    fn warms_up_linearly_from_zero_to_the_peak() {
        let s = schedule();
        assert_eq!(s.at(0), 0.0);
        assert!((s.at(2) - 5e-4).abs() < 1e-12);
        assert!((s.at(4) - 1e-3).abs() < 1e-12);
    }

    #[test]
    fn decays_by_half_a_cosine_to_the_floor() {
        let s = schedule();
        assert!(
            (s.at(5) - 1e-3).abs() < 1e-12,
            "the cosine starts at the peak"
        );
        let mid = s.at(15);
        assert!(
            (mid - (1e-3 + 1e-6) / 2.0).abs() < 1e-12,
            "half-way is the mean: {mid}"
        );
        let values: Vec<f64> = (5..25).map(|i| s.at(i)).collect();
        assert!(
            values.windows(2).all(|w| w[1] < w[0]),
            "strictly decreasing"
        );
        assert_eq!(s.at(25), 1e-6);
        assert_eq!(s.at(1000), 1e-6);
    }

    #[test]
    fn no_warmup_starts_at_the_peak() {
        let s = WarmupCosine {
            warmup_steps: 0,
            ..schedule()
        };
        assert_eq!(s.at(0), 1e-3);
    }
}
