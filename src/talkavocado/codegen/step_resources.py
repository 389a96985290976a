"""The per-step parts of template.yaml, written from the pipeline's one
declaration (talkavocado.domain.pipeline), each step's ``needs`` included: its
queue, dead-letter queue, rule, queue policy, function, log group and alarm,
and the lists that name every step's resources. ``make contracts`` rewrites
them between their markers; a test fails when template.yaml has drifted.

So a new step is: declare it in pipeline.py, write its body, and run ``make
contracts``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from talkavocado.domain.pipeline import INPUT, PIPELINE, Step

VISIBILITY_PER_TIMEOUT = 6  # SQS visibility timeout: 6 x the function's timeout
MAX_RECEIVES = 5


_SKIP_SQS_KMS = """\
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_27
            comment: >-
              SSE-SQS (SqsManagedSseEnabled) encrypts at rest; EventBridge cannot deliver to queues under the AWS-managed KMS key.
"""
FUNCTION_SKIPS = """\
    Metadata:
      BuildMethod: makefile
      checkov:
        skip:
          - id: CKV_AWS_117
            comment: >-
              The functions reach only AWS public endpoints; a VPC would add NAT cost and cold-start latency for no isolation gain.
          - id: CKV_AWS_116
            comment: >-
              Failures are captured by each SQS queue's redrive dead-letter queue (or returned to the caller for the API), not by an asynchronous-invoke DLQ.
          - id: CKV_AWS_115
            comment: >-
              Reserved concurrency would cap scaling and fails to deploy on accounts with the default concurrency quota; throttling is applied at the API.
          - id: CKV_AWS_173
            comment: >-
              The environment holds only resource names and settings, no secrets.
"""


def _objects(patterns: tuple[str, ...]) -> str:
    keys = ("manifest.json", *patterns)
    return "".join(
        f'                - !Sub "${{MediaBucket.Arn}}/${{Env}}/*/{key}"\n' for key in keys
    )


def _step_block(step: Step) -> str:
    stem, needs = step.resource_prefix, step.needs
    pinned = ""
    if INPUT in needs.reads:
        pinned = f"""\
            # The input as it was when the job started (its version on S3).
            - Sid: ReadTheStartedInput
              Effect: Allow
              Action: s3:GetObjectVersion
              Resource: !Sub "${{MediaBucket.Arn}}/${{Env}}/*/{INPUT}"
"""
    return f"""\
  # --- {step.name}: {step.consumes} -> {stem}Function ---------------------------------
  {stem}DeadLetterQueue:
{_SKIP_SQS_KMS}    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub talkavocado-${{Env}}-{step.name}-dlq
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true

  {stem}Queue:
{_SKIP_SQS_KMS}    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub talkavocado-${{Env}}-{step.name}
      VisibilityTimeout: {needs.timeout * VISIBILITY_PER_TIMEOUT}
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt {stem}DeadLetterQueue.Arn
        maxReceiveCount: {MAX_RECEIVES}

  {stem}Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref EventBus
      EventPattern:
        source: [talkavocado.pipeline]
        detail-type: [{step.consumes}]
      Targets:
        - Id: {step.name}
          Arn: !GetAtt {stem}Queue.Arn

  {stem}QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref {stem}Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: events.amazonaws.com
            Action: sqs:SendMessage
            Resource: !GetAtt {stem}Queue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn: !GetAtt {stem}Rule.Arn

  {stem}Function:
{FUNCTION_SKIPS}    Type: AWS::Serverless::Function
    Properties:
      Description: Pipeline step {step.name}
      Handler: {step.handler}
      LoggingConfig:
        LogGroup: !Ref {stem}FunctionLogs
      Timeout: {needs.timeout}
      MemorySize: {needs.memory}
      Policies:
        - Statement:
            - Sid: JobRecords
              Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: !GetAtt JobsTable.Arn
            - Sid: ReadOwnInputs
              Effect: Allow
              Action: s3:GetObject
              Resource:
{_objects(needs.reads)}{pinned}            - Sid: WriteOwnArtifacts
              Effect: Allow
              Action: s3:PutObject
              Resource:
{_objects(needs.writes)}            # Without it a missing object reads as 403, not 404.
            - Sid: TellMissingObjects
              Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt MediaBucket.Arn
              Condition:
                StringLike:
                  s3:prefix: !Sub "${{Env}}/*"
            - Sid: PublishPipelineEvents
              Effect: Allow
              Action: events:PutEvents
              Resource: !GetAtt EventBus.Arn
            - Sid: DelayRetries
              Effect: Allow
              Action: [sqs:ChangeMessageVisibility, sqs:GetQueueUrl]
              Resource:
                - !GetAtt {stem}Queue.Arn
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt {stem}Queue.Arn
            BatchSize: {needs.batch_size}
            FunctionResponseTypes: [ReportBatchItemFailures]

"""


def _each(line: Callable[[Step], str]) -> str:
    return "".join(line(step) for step in PIPELINE)


REGIONS: dict[str, Callable[[], str]] = {
    "resources": lambda: _each(_step_block),
    "roles": lambda: _each(
        lambda s: f"              - !GetAtt {s.resource_prefix}FunctionRole.Arn\n"
    ),
    "queues": lambda: _each(lambda s: f"                - !GetAtt {s.resource_prefix}Queue.Arn\n"),
    "dead-letter-queues": lambda: _each(
        lambda s: f"                - !GetAtt {s.resource_prefix}DeadLetterQueue.Arn\n"
    ),
    "dead-letter-sources": lambda: _each(
        lambda s: (
            f"""\
        {s.resource_prefix}DeadLetters:
          Type: SQS
          Properties:
            Queue: !GetAtt {s.resource_prefix}DeadLetterQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"""
        )
    ),
    "log-groups": lambda: _each(
        lambda s: (
            f"""\
  {s.resource_prefix}FunctionLogs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: !Sub /talkavocado/${{Env}}/{s.resource_prefix}Function
      RetentionInDays: !Ref LogRetentionDays
      KmsKeyId: !GetAtt OperationsKey.Arn

"""
        )
    ),
    "alarms": lambda: _each(
        lambda s: (
            f"""\
  {s.resource_prefix}DeadLetterAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: A {s.name} message was dead-lettered; its job has failed.
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt {s.resource_prefix}DeadLetterQueue.QueueName
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref AlarmTopic]

"""
        )
    ),
}
_REGION = re.compile(
    r"^(?P<indent> *)# >>> every step: (?P<name>[a-z-]+)\n(?P<body>.*?)^(?P=indent)# <<< every step\n",
    re.MULTILINE | re.DOTALL,
)


def render(template: str) -> str:
    """``template`` with every marked region written anew from the declaration."""
    found: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name, indent = match["name"], match["indent"]
        found.add(name)
        return f"{indent}# >>> every step: {name}\n{REGIONS[name]()}{indent}# <<< every step\n"

    rendered = _REGION.sub(fill, template)
    missing = set(REGIONS) - found
    if missing:
        raise ValueError(f"template.yaml lacks the regions {', '.join(sorted(missing))}")
    return rendered


def drifted(path: Path) -> bool:
    text = path.read_text()
    return render(text) != text


def write(path: Path) -> bool:
    """Rewrite the regions; True when something changed."""
    text = path.read_text()
    rendered = render(text)
    if rendered != text:
        path.write_text(rendered)
    return rendered != text
