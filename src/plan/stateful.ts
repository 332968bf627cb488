/**
 * Resource types whose deletion loses data that redeploying the template does not bring back, and
 * what they hold. A replacement creates an empty new one and deletes the old one; a removal deletes it.
 */
export const STATEFUL_TYPES: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'items',
  'AWS::DynamoDB::GlobalTable': 'items (in every replica)',
  'AWS::S3::Bucket': 'objects',
  'AWS::S3Express::DirectoryBucket': 'objects',
  'AWS::RDS::DBInstance': 'databases',
  'AWS::RDS::DBCluster': 'databases',
  'AWS::DocDB::DBCluster': 'databases',
  'AWS::Neptune::DBCluster': 'graphs',
  'AWS::Redshift::Cluster': 'tables',
  'AWS::Cognito::UserPool': 'users and their passwords',
  'AWS::SQS::Queue': 'messages not yet consumed',
  'AWS::Kinesis::Stream': 'records within retention',
  'AWS::Logs::LogGroup': 'log events',
  'AWS::EFS::FileSystem': 'files',
  'AWS::FSx::FileSystem': 'files',
  'AWS::EC2::Volume': 'the volume',
  'AWS::ElastiCache::ReplicationGroup': 'cached and persisted data',
  'AWS::OpenSearchService::Domain': 'indices',
  'AWS::Elasticsearch::Domain': 'indices',
  'AWS::ECR::Repository': 'images',
  'AWS::Backup::BackupVault': 'recovery points',
  // Data encrypted under a deleted key cannot be decrypted once its deletion completes.
  'AWS::KMS::Key': 'key material (data encrypted under it becomes unreadable)',
  // A generated secret value exists nowhere else.
  'AWS::SecretsManager::Secret': 'the secret value',
  'AWS::Events::Archive': 'archived events',
  'AWS::Timestream::Table': 'records'
}

/** CloudFormation's own default DeletionPolicy where it is not Delete. */
export function defaultDeletionPolicy(type: string, properties: Record<string, unknown>): string {
  if (type === 'AWS::RDS::DBCluster') return 'Snapshot'
  if (type === 'AWS::RDS::DBInstance' && properties.DBClusterIdentifier === undefined) return 'Snapshot'
  return 'Delete'
}
