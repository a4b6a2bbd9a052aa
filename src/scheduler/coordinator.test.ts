import { createLocalCoordinator } from './coordinator.ts';
import { describeCoordinator } from '../../test/scheduler/coordinator-conformance.ts';

describeCoordinator('in-process', async () => createLocalCoordinator());
