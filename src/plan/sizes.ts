import { UNZIPPED_LIMIT_BYTES, type ArtifactInput, type ArtifactPlan, type FunctionInput } from './model.js'
import { isRecord, listOf, reference, type Resources, type TemplateResource } from './template.js'

/**
 * Package sizes against Lambda's one limit that matters here: 250 MB for a function's unzipped code
 * and all its layers together. (The 50 MB zipped limit is for direct uploads; Serverless uploads
 * through S3.) A layer packaged with the service is found through its AWS::Lambda::LayerVersion's
 * S3Key, whose base name is the artifact's; a layer ARN from elsewhere has no size the plan knows.
 */

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path
}

function artifactFor(s3Key: unknown, artifacts: ArtifactInput[]): ArtifactInput | undefined {
  if (typeof s3Key !== 'string') return undefined
  const name = baseName(s3Key)
  return artifacts.find(artifact => baseName(artifact.file) === name)
}

export interface FunctionSize {
  unzippedBytes?: number
  unknownLayers: number
  overLimit: boolean
}

export function functionSize(
  fn: FunctionInput,
  resource: TemplateResource | undefined,
  resources: Resources,
  artifacts: ArtifactInput[]
): FunctionSize {
  const code = resource?.properties.Code
  const own =
    fn.newUnzippedBytes ?? artifactFor(isRecord(code) ? code.S3Key : undefined, artifacts)?.unzippedBytes
  let layerBytes = 0
  let unknownLayers = 0
  for (const layer of listOf(resource?.properties.Layers)) {
    const ref = reference(layer)
    const layerResource = ref && !ref.attribute ? resources[ref.id] : undefined
    const content =
      layerResource?.type === 'AWS::Lambda::LayerVersion' ? layerResource.properties.Content : undefined
    const artifact = artifactFor(isRecord(content) ? content.S3Key : undefined, artifacts)
    if (artifact) layerBytes += artifact.unzippedBytes
    else unknownLayers++
  }
  const unzipped = own === undefined ? undefined : own + layerBytes
  return {
    ...(unzipped !== undefined ? { unzippedBytes: unzipped } : {}),
    unknownLayers,
    overLimit: unzipped !== undefined && unzipped > UNZIPPED_LIMIT_BYTES
  }
}

export function artifactPlans(artifacts: ArtifactInput[]): ArtifactPlan[] {
  return artifacts
    .map(artifact => ({
      file: artifact.file,
      bytes: artifact.bytes,
      ...(artifact.previousBytes !== undefined ? { previousBytes: artifact.previousBytes } : {}),
      unzippedBytes: artifact.unzippedBytes
    }))
    .sort((a, b) => a.file.localeCompare(b.file))
}
