export { readPackageManifest, type Manifest, type SourceManifest } from './read-manifest';
export { rewriteManifest, type RewriteManifestOptions } from './rewrite-manifest';
export { stagePackage, listPackage, type PackageListing, type StageOptions, type StagedFile, type StagedPackage } from './stage-package';
export { packPackage, type PackOptions, type PackResult } from './pack-package';
export { checkPackage, type PackageCheck } from './check-package';
