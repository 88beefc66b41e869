export { main, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type Io } from './main';
