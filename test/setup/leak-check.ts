// Vitest setup file: every test must close what it opened (see @stepwise/testing's installLeakCheck).
// STEPWISE_LEAK_CHECK=report prints the leaks instead of failing the tests.
import { installLeakCheck } from '@stepwise/testing';

installLeakCheck({ reportOnly: process.env.STEPWISE_LEAK_CHECK === 'report' });
