package run

// PassGap is passGap, for the scheduler's tests.
const PassGap = passGap
