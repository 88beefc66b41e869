export interface InitGeneratorSchema {
  /** Register no inference plugin: keep to explicit targets in project.json (targetDefaults are still added). */
  skipPlugin?: boolean;
  /** Do not format the changed files. */
  skipFormat?: boolean;
}
